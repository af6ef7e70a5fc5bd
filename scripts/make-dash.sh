#!/usr/bin/env bash
# make-dash.sh OUT
#
# Adds an MPEG-DASH rendition set to a stream make-media.sh made (it runs
# this last), from that stream's own CMAF renditions, without encoding:
#
#   OUT/dash/manifest.mpd          static MPD: one video adaptation set (360p,
#                                  180p) and one audio; SegmentTemplate with
#                                  $Number$ from 0 and a SegmentTimeline
#   OUT/dash/{360p,180p,audio}/    seg0.m4s, seg1.m4s, ...: the HLS segments
#                                  of the same names, in the clear
#
# The initialization sections are the HLS's own (../hls/{rendition}/init.mp4,
# never encrypted). The media segments cannot be: the HLS encrypts whole
# segments (AES-128), which DASH has no way to say, so each is decrypted
# with the stream's key into dash/, giving back the bytes ffmpeg wrote.
# Times, durations, codecs and sizes come from the segments themselves
# (ffprobe, and the avcC box), so the timeline matches the media to the
# tick. Run on an existing stream, it leaves every other file as it is.
# Needs ffprobe, openssl and xxd.
set -euo pipefail
out=${1:?usage: make-dash.sh OUT}
hls=$out/hls
dash=$out/dash
key=$(xxd -p "$hls/key.bin")

rm -rf "$dash"
mkdir -p "$dash"

probe() { # probe ENTRIES FILE...: of the files one after the other, KEY=VALUE lines
  local entries=$1; shift
  cat "$@" | ffprobe -v error -select_streams 0 -show_entries "$entries" -read_intervals '%+#1' -of default=nw=1 -
}

# representation DIR ID: decrypts DIR's segments into dash/DIR and prints
# one <Representation> with its SegmentTemplate and SegmentTimeline.
representation() {
  local dir=$1 id=$2 init=$hls/$1/init.mp4 iv seg n=0 t end start=-1 total=0 bytes=0 timeline=""
  iv=$(grep -o 'IV=0x[0-9a-fA-F]*' "$hls/$dir/index.m3u8" | head -1 | cut -c6-)
  mkdir -p "$dash/$dir"
  local timescale
  timescale=$(probe stream=time_base "$init" | sed -n 's|^time_base=1/||p')
  while [ -f "$hls/$dir/seg$n.m4s" ]; do
    seg=$dash/$dir/seg$n.m4s
    openssl aes-128-cbc -d -K "$key" -iv "$iv" -in "$hls/$dir/seg$n.m4s" -out "$seg"
    # The first packet's decode time is the fragment's tfdt; the stream's
    # duration_ts, read from one fragment, is where that fragment ends.
    t=$(probe packet=dts "$init" "$seg" | sed -n 's/^dts=//p' | head -1)
    end=$(probe stream=duration_ts "$init" "$seg" | sed -n 's/^duration_ts=//p')
    [ "$start" -ge 0 ] || start=$t
    if [ "$t" -ne "$total" ] && [ "$n" -gt 0 ]; then
      echo "$dir/seg$n.m4s starts at $t, not $total: a gap" >&2
      exit 1
    fi
    timeline+="            <S t=\"$t\" d=\"$((end - t))\"/>"$'\n'
    bytes=$((bytes + $(stat -c %s "$seg")))
    total=$end
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { echo "$hls/$dir: no segments" >&2; exit 1; }
  echo "$total/$timescale" >> "$tmp/ends"
  # @bandwidth: the rendition's mean bit rate. The peak over segments would
  # be the last one's, a few milliseconds of media under a whole moof.
  local bandwidth=$((bytes * 8 * timescale / (total - start)))

  local attrs inner=""
  case $id in
  audio)
    local rate channels
    [ "$(probe stream=profile "$init" "$dash/$dir/seg0.m4s")" = profile=LC ] || { echo "$init: not AAC-LC (mp4a.40.2)" >&2; exit 1; }
    rate=$(probe stream=sample_rate "$init" | sed -n 's/^sample_rate=//p')
    channels=$(probe stream=channels "$init" | sed -n 's/^channels=//p')
    attrs="codecs=\"mp4a.40.2\" audioSamplingRate=\"$rate\""
    inner="        <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"$channels\"/>"$'\n'
    ;;
  *)
    # avc1.PPCCLL: profile, constraints and level, the avcC box's bytes 1-3.
    local avcc w h
    avcc=$(xxd -p "$init" | tr -d '\n' | grep -o '61766343..[0-9a-f]\{6\}' | head -1 | cut -c11-)
    w=$(probe stream=width "$init" | sed -n 's/^width=//p')
    h=$(probe stream=height "$init" | sed -n 's/^height=//p')
    attrs="codecs=\"avc1.$avcc\" width=\"$w\" height=\"$h\""
    ;;
  esac
  cat <<XML
      <Representation id="$id" bandwidth="$bandwidth" $attrs>
${inner}        <SegmentTemplate timescale="$timescale" startNumber="0"
            initialization="../hls/$dir/init.mp4" media="$dir/seg\$Number\$.m4s">
          <SegmentTimeline>
${timeline}          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
XML
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
video=$(representation 360p 360p; representation 180p 180p)
audio=$(representation audio audio)
fps=$(probe stream=r_frame_rate "$hls/360p/init.mp4" "$dash/360p/seg0.m4s" | sed -n 's/^r_frame_rate=//p')
# The presentation lasts as long as its longest rendition (to the
# microsecond above: never shorter than its media).
secs=$(awk -F/ '{ s = $1 / $2; if (s > m) m = s } END { printf "%.6f", int(m * 1e6 + 0.999999) / 1e6 }' "$tmp/ends")

cat > "$dash/manifest.mpd" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" profiles="urn:mpeg:dash:profile:isoff-live:2011"
    mediaPresentationDuration="PT${secs}S" minBufferTime="PT1S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" frameRate="$fps" segmentAlignment="true" startWithSAP="1">
$video
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="en" segmentAlignment="true" startWithSAP="1">
$audio
    </AdaptationSet>
  </Period>
</MPD>
XML
