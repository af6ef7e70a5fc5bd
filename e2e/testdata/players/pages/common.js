// The test pages' shared part: what the test reads back (window.__pv) and
// the query they take: src, the media URL (a private link of another
// origin); credentials=1 to send cookies with every request.
window.__pv = { errors: [], player: document.documentElement.dataset.player };
const params = new URLSearchParams(location.search);
const src = params.get("src");
const credentials = params.get("credentials") === "1";
const video = document.querySelector("video");
function fail(what) {
  window.__pv.errors.push(String(what));
}
video.addEventListener("error", () => fail("media element error " + (video.error && video.error.code)));
