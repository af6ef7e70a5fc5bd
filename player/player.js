// privatevideo's player: plays one video with the browser's own <video>,
// HLS where the browser plays it natively and MP4 otherwise. It talks to its
// own origin only. For a private video it first opens the session (POST to
// the session endpoint), so that a refusal is explained before any media is
// requested; in page-bound mode it keeps the session in sessionStorage, which
// survives a reload but no other tab.
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

  const withSession = (url, token) =>
    token ? url + (url.includes("?") ? "&" : "?") + d.param + "=" + encodeURIComponent(token) : url;

  const reasonOf = async (res) => {
    let reason = res.headers.get("Privatevideo-Reason") || "";
    try {
      reason = (await res.json()).reason || reason;
    } catch (_) {
      // not problem+json: keep the header's reason
    }
    return reason || "store-unavailable";
  };

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

  openSession().then((token) => {
    const sources = [];
    if (video.canPlayType("application/vnd.apple.mpegurl")) sources.push(d.hls);
    sources.push(d.mp4);
    let current = 0;
    const load = () => {
      video.src = withSession(sources[current], token);
      video.dataset.playing = sources[current];
    };
    video.addEventListener("error", async () => {
      if (++current < sources.length) return load(); // HLS failed: try the MP4
      try {
        // Ask why without redeeming anything: HEAD never redeems.
        const res = await fetch(video.src, { method: "HEAD", credentials: "same-origin", cache: "no-store" });
        say(res.ok ? "playback" : await reasonOf(res));
      } catch (_) {
        say("store-unavailable");
      }
    });
    video.poster = withSession(d.poster, token);
    load();
  }).catch((err) => say(err.message));
})();
