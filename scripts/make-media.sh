#!/usr/bin/env bash
# make-media.sh OUT [SECONDS]
#
# Generates a small private-video fixture from ffmpeg's test sources, laid out
# as privatevideo's URL grammar expects under /vod/{id}/:
#
#   OUT/thumbnail.jpg              poster
#   OUT/mp4/source.mp4             progressive MP4 (H.264 + AAC, faststart)
#   OUT/hls/manifest.m3u8          master: two video renditions, an alternate
#                                  audio rendition (EXT-X-MEDIA), an I-frame
#                                  playlist and a session key
#   OUT/hls/{360p,180p,audio}/     fMP4 renditions (EXT-X-MAP), segments
#                                  AES-128 encrypted (EXT-X-KEY -> ../key.bin)
#   OUT/hls/iframes.m3u8           I-frame playlist over the 360p segments
#   OUT/dash/manifest.mpd          MPEG-DASH over the same renditions
#                                  (make-dash.sh: its segments are the HLS's,
#                                  in the clear; its init sections the HLS's)
#
# Every HLS feature whose URIs privatevideo rewrites appears at least once.
# Output is deterministic except the AES key and IV, random per run. Needs
# ffmpeg (with libx264) and openssl.
set -euo pipefail
out=${1:?usage: make-media.sh OUT [SECONDS]}
secs=${2:-4}
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

rm -rf "$out"
mkdir -p "$out/mp4" "$out/hls/360p" "$out/hls/180p" "$out/hls/audio"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The source: test pattern and a 440 Hz tone, one keyframe a second.
ff -f lavfi -i "testsrc2=size=640x360:rate=25:duration=$secs" \
   -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=$secs" \
   -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0 \
   -b:v 300k -threads 1 -c:a aac -b:a 64k -ac 2 -movflags +faststart "$out/mp4/source.mp4"
ff -ss 1 -i "$out/mp4/source.mp4" -frames:v 1 -vf scale=320:-2 -q:v 6 "$out/thumbnail.jpg"

# One key for every rendition. ffmpeg 5 cannot encrypt fMP4, so segments are
# encrypted here (AES-128-CBC, PKCS#7, one explicit IV), and the EXT-X-KEY
# goes after the EXT-X-MAP: the initialization section stays in the clear.
head -c 16 /dev/urandom > "$out/hls/key.bin"
key=$(xxd -p "$out/hls/key.bin")
iv=$(head -c 16 /dev/urandom | xxd -p)

hls() { # hls DIR ARGS...: one fMP4 VOD rendition, segments encrypted
  local dir=$1; shift
  ff -i "$out/mp4/source.mp4" "$@" -threads 1 \
     -f hls -hls_time 1 -hls_playlist_type vod -hls_segment_type fmp4 \
     -hls_fmp4_init_filename init.mp4 \
     -hls_segment_filename "$out/hls/$dir/seg%d.m4s" "$out/hls/$dir/index.m3u8"
  for seg in "$out/hls/$dir"/seg*.m4s; do
    openssl aes-128-cbc -K "$key" -iv "$iv" -in "$seg" -out "$seg.enc"
    mv "$seg.enc" "$seg"
  done
  sed -i "/^#EXT-X-MAP:/a #EXT-X-KEY:METHOD=AES-128,URI=\"../key.bin\",IV=0x$iv" "$out/hls/$dir/index.m3u8"
}
hls 360p  -map 0:v -c:v libx264 -preset veryfast -profile:v main -g 25 -keyint_min 25 -sc_threshold 0 -b:v 300k
hls 180p  -map 0:v -c:v libx264 -preset veryfast -profile:v main -g 25 -keyint_min 25 -sc_threshold 0 -b:v 120k -vf scale=320:180
hls audio -map 0:a -c:a aac -b:a 64k

# The I-frame playlist: each 360p segment starts with a keyframe; the byte
# range of a whole segment stands for its keyframe.
{
  echo '#EXTM3U'
  echo '#EXT-X-VERSION:7'
  echo '#EXT-X-TARGETDURATION:1'
  echo '#EXT-X-PLAYLIST-TYPE:VOD'
  echo '#EXT-X-I-FRAMES-ONLY'
  echo '#EXT-X-MAP:URI="360p/init.mp4"'
  echo "#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\",IV=0x$iv"
  for seg in $(grep -v '^#' "$out/hls/360p/index.m3u8"); do
    echo '#EXTINF:1.000000,'
    echo "#EXT-X-BYTERANGE:$(stat -c %s "$out/hls/360p/$seg")@0"
    echo "360p/$seg"
  done
  echo '#EXT-X-ENDLIST'
} > "$out/hls/iframes.m3u8"

cat > "$out/hls/manifest.m3u8" <<'M3U8'
#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="key.bin"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Tone",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=420000,AVERAGE-BANDWIDTH=380000,RESOLUTION=640x360,FRAME-RATE=25.000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=220000,AVERAGE-BANDWIDTH=190000,RESOLUTION=320x180,FRAME-RATE=25.000,CODECS="avc1.4d400d,mp4a.40.2",AUDIO="aud"
180p/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,RESOLUTION=640x360,CODECS="avc1.4d401e",URI="iframes.m3u8"
M3U8
"$(dirname "$0")/make-dash.sh" "$out"
du -sh "$out"
