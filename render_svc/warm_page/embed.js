// Inlined into the host page after BokehJS; render_svc.warm_renderer calls
// window.chartsnapEmbed for every render through CDP Runtime.evaluate with
// awaitPromise (render_svc.host_page.embed_expression): one CDP command, where
// webdriver's execute_async_script wraps the script and waits for its
// callback (measured ~20 ms more per render under load; bench/render_paths.py).
//
// Removes the previous job's views and documents (they hold DOM nodes,
// canvases and signal connections, so leaving them would leak), embeds the new
// item and resolves once the document reports idle, i.e. every view has
// finished painting. This mirrors bokeh.io.export's _WAIT_SCRIPT but without
// polling from Python. The target stays hidden while BokehJS builds and paints
// (layout and canvas drawing do not depend on visibility; measured
// pixel-identical), so the compositor does not produce frames of a half-drawn
// chart (measured ~2-3 ms less CPU per render); it is shown again just before
// the capture, whose clip is the target's box this resolves with, plus marks:
// ms since the script started when the JSON was parsed, the views were built
// and the document was idle (bench/render_paths.py reads them).
window.chartsnapEmbed = (targetId, itemJson, width, height) => new Promise((done) => {
const started = performance.now();
const since = () => Math.round((performance.now() - started) * 10) / 10;
const fail = (e) => done({error: String((e && e.stack) || e)});
try {
  window.chartsnapDropViewportListeners();
  for (const view of [...Bokeh.index.roots]) view.remove();
  for (const doc of Bokeh.documents) doc.clear();
  Bokeh.documents.length = 0;
  const target = document.getElementById(targetId);
  target.replaceChildren();
  target.style.visibility = "hidden";
  target.style.width = width + "px";
  target.style.height = height + "px";
  const item = JSON.parse(itemJson);
  const marks = {parsed: since()};
  Bokeh.embed.embed_item(item, targetId).then((views) => {
    if (views.get_by_id(item.root_id) == null) {
      fail("no view was built for root " + item.root_id);
      return;
    }
    marks.built = since();
    const doc = Bokeh.documents[Bokeh.documents.length - 1];
    const finish = () => {
      marks.idle = since();
      target.style.visibility = "visible";
      const r = target.getBoundingClientRect();
      done({x: r.left, y: r.top, width: r.width, height: r.height, marks});
    };
    if (doc.is_idle) finish(); else doc.idle.connect(finish);
  }, fail);
} catch (e) {
  fail(e);
}
});
