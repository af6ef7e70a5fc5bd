// privatevideo's player: plays one video in the browser's own <video>. The
// HLS plays through hls.js wherever the browser has Media Source Extensions
// (desktop browsers, Android, iPadOS; Chromium claims native HLS but fails on
// fMP4 with AES-128 and alternate audio), natively where it has none (iOS
// Safari), and the MP4 is the last resort. Asked for DASH (the page's URL
// with ?player.format=dash), it plays the MPD through Shaka Player instead
// of hls.js, with the same fallbacks. It talks to its own origin only, the
// library included (the page's own URL with ?player.lib=…).
//
// For a private video it first opens the session (POST to the session
// endpoint), so that a refusal is explained before any media is requested;
// in page-bound mode it keeps the session in sessionStorage, which survives a
// reload but no other tab. The session token it holds goes on every media URL
// (hls.js's and Shaka's requests included), so the page plays where the browser keeps no
// cookie too (a cross-site iframe); in cookie mode the cookie travels as well
// and is what lets a reload reopen the session.
"use strict";
(() => {
  const video = document.querySelector("video");
  const note = document.getElementById("note");
  const d = video.dataset;
  const reasons = JSON.parse(d.reasons);

  const say = (reason) => {
    note.textContent = reasons[reason] || reasons["store-unavailable"];
    note.dataset.reason = reason;
    note.hidden = false;
    video.hidden = true;
  };

  // withParam appends key=value to url's query, before any fragment.
  const withParam = (url, key, value) => {
    const i = url.indexOf("#");
    const base = i < 0 ? url : url.slice(0, i);
    const sep = !base.includes("?") ? "?" : /[?&]$/.test(base) ? "" : "&";
    return base + sep + encodeURIComponent(key) + "=" + encodeURIComponent(value) + (i < 0 ? "" : url.slice(i));
  };

  // withSession adds the session token to a URL of the page's own origin
  // that lacks it (playlists rewritten for cookie-less clients carry it
  // already); it never sends it elsewhere.
  const withSession = (url, token) => {
    if (!token) return url;
    const u = new URL(url, location.href);
    return u.origin !== location.origin || u.searchParams.has(d.param) ? url : withParam(url, d.param, token);
  };

  const reasonOf = async (res) => {
    let reason = res.headers.get("Privatevideo-Reason") || "";
    try {
      reason = (await res.json()).reason || reason;
    } catch (_) {
      // not problem+json: keep the header's reason
    }
    return reason || "store-unavailable";
  };

  // The library (hls.js, or Shaka Player for DASH) loads while the session
  // opens, and only where it can run.
  const dash = d.format === "dash";
  const mse = "ManagedMediaSource" in window || "MediaSource" in window;
  const library = !mse
    ? Promise.resolve(null)
    : new Promise((resolve) => {
        const s = document.createElement("script");
        s.src = withParam(location.href.split("#")[0], d.libParam, d.lib);
        s.integrity = d.libIntegrity;
        s.onload = () => resolve((dash ? window.shaka : window.Hls) || null);
        s.onerror = () => resolve(null); // blocked or altered: the MP4 is left
        document.head.append(s);
      });

  const storeKey = "privatevideo:" + d.session;

  async function openSession() {
    if (!d.session) return ""; // a public video needs none
    // A page opened with a session token in its URL already has a session.
    const given = new URLSearchParams(location.search).get(d.param);
    if (given) return given;
    if (d.mode === "page") {
      const kept = JSON.parse(sessionStorage.getItem(storeKey) || "null");
      if (kept && Date.parse(kept.expires_at) > Date.now()) return kept.session_token;
    }
    const res = await fetch(d.session, { method: "POST", credentials: "same-origin", cache: "no-store" });
    if (!res.ok) throw new Error(await reasonOf(res));
    const session = await res.json();
    if (d.mode === "page") sessionStorage.setItem(storeKey, JSON.stringify(session));
    return session.session_token;
  }

  Promise.all([openSession(), library])
    .then(([token, lib]) => {
      const Hls = dash ? null : lib;
      const shaka = dash ? lib : null;
      if (shaka) shaka.polyfill.installAll();
      const sources = [];
      if (shaka && shaka.Player.isBrowserSupported()) sources.push({ engine: "shaka", url: d.dash });
      if (Hls && Hls.isSupported()) sources.push({ engine: "hls.js", url: d.hls });
      else if (!mse && video.canPlayType("application/vnd.apple.mpegurl")) sources.push({ engine: "native", url: d.hls });
      sources.push({ engine: "mp4", url: d.mp4 });
      let current = -1;
      let hls = null;
      let player = null; // Shaka's
      // The viewer's wish to play, kept across sources: a failed source
      // pauses the video without a pause of the viewer's.
      let playWanted = !video.paused;
      video.addEventListener("play", () => (playWanted = true));
      video.addEventListener("pause", () => {
        if (video.readyState > 0 && !video.error) playWanted = false;
      });

      // failed asks why the current source failed, without redeeming
      // anything (HEAD never redeems): a refusal is said, a playback
      // failure moves on to the next source. A failure the player rides
      // out (fatal false) is only explained if it was a refusal.
      let handled = -1;
      const failed = async (url, fatal = true) => {
        const failing = current;
        if (handled === failing) return; // one answer per source
        handled = failing;
        let reason = "playback";
        try {
          const res = await fetch(withSession(url, token), { method: "HEAD", credentials: "same-origin", cache: "no-store" });
          if (!res.ok) reason = await reasonOf(res);
        } catch (_) {
          reason = "store-unavailable";
        }
        if (failing !== current) return; // already moved on
        if (reason === "playback" && !fatal) {
          handled = -1; // the player goes on; a later failure is asked again
          return;
        }
        if (reason === "playback" && current + 1 < sources.length) return next();
        say(reason);
      };

      const next = async () => {
        if (hls) {
          hls.destroy();
          hls = window.__pvHls = null;
        }
        if (player) {
          const done = player;
          player = window.__pvShaka = null;
          await done.destroy().catch(() => {}); // lets go of the video first
        }
        const source = sources[++current];
        video.dataset.engine = source.engine;
        video.dataset.playing = source.url;
        // A viewer who pressed play before the source was ready (or while
        // a failed one played) still wants it: a new src pauses the video.
        const wanted = playWanted || !video.paused;
        const resume = () => wanted && video.play().catch(() => {});
        if (source.engine === "shaka") return playDASH(source, wanted, resume);
        if (source.engine !== "hls.js") {
          video.src = withSession(source.url, token);
          resume();
          return;
        }
        let recovered = false;
        hls = new Hls({
          // The worker would be a blob: script, which the page's CSP
          // refuses; fMP4 needs no transmuxing and AES-128 is WebCrypto's.
          enableWorker: false,
          // Nothing before play, like preload="none" with the MP4; the
          // manifest is read at once, so a refusal shows early.
          autoStartLoad: false,
          xhrSetup: (xhr, url) => xhr.open("GET", withSession(url, token), true),
        });
        window.__pvHls = hls; // for tests and the console
        hls.on(Hls.Events.ERROR, (_, data) => {
          if (!data.fatal) return; // hls.js retries or switches by itself
          if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
            recovered = true;
            hls.recoverMediaError();
            return;
          }
          failed((data.frag && data.frag.url) || (data.context && data.context.url) || data.url || source.url);
        });
        const start = () => {
          video.removeEventListener("play", start);
          video.removeEventListener("seeking", start);
          if (hls) hls.startLoad(video.currentTime || -1);
        };
        video.addEventListener("play", start);
        video.addEventListener("seeking", start);
        hls.loadSource(source.url);
        hls.attachMedia(video);
        if (wanted) {
          start(); // no play event comes if the video is still unpaused
          resume();
        }
      };

      // playDASH plays the MPD through Shaka Player, which loads nothing
      // before the viewer plays or seeks (as preload="none" would).
      const playDASH = (source, wanted, resume) => {
        const p = new shaka.Player();
        player = window.__pvShaka = p; // for tests and the console
        // Shaka's errors name the URI that failed. A recoverable one
        // (after Shaka's retries) is explained only if it was a refusal; a
        // failed load, or a critical error, ends the source.
        const fail = (err, fatal) => {
          if (player !== p) return; // a source already left
          const e = (err && err.detail) || err || {};
          const url = e.data && typeof e.data[0] === "string" ? e.data[0] : source.url;
          failed(url, fatal || e.severity !== shaka.util.Error.Severity.RECOVERABLE);
        };
        p.addEventListener("error", (e) => fail(e, false));
        const net = p.getNetworkingEngine();
        // Every request Shaka makes (MPD, init sections, segments) carries
        // the session; none goes beyond the page's origin.
        net.registerRequestFilter((_, request) => {
          request.uris = request.uris.map((u) => withSession(u, token));
        });
        // Shaka retries any HTTP error; a refusal (it carries its reason)
        // would only be refused again, a second later.
        net.addEventListener("retry", (e) => {
          const headers = e.error && e.error.data && e.error.data[3];
          if (headers && headers["privatevideo-reason"]) e.preventDefault();
        });
        const attached = p.attach(video);
        attached.catch((err) => fail(err, true));
        const start = () => {
          video.removeEventListener("play", start);
          video.removeEventListener("seeking", start);
          const at = video.currentTime || null;
          attached.then(() => player === p && p.load(source.url, at, "application/dash+xml")).catch((err) => fail(err, true));
        };
        video.addEventListener("play", start);
        video.addEventListener("seeking", start);
        if (wanted) {
          start(); // no play event comes if the video is still unpaused
          resume();
        }
      };

      video.addEventListener("error", () => {
        // hls.js and Shaka report their own media errors (hls.js with a
        // chance to recover).
        const engine = sources[current].engine;
        if (engine !== "hls.js" && engine !== "shaka") failed(sources[current].url);
      });
      video.poster = withSession(d.poster, token);
      next();
    })
    .catch((err) => say(err.message));
})();
