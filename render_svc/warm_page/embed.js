// Inlined into the host page after BokehJS; render_svc.warm_renderer calls
// window.chartsnapEmbed (or window.chartsnapPatch) for every render through CDP
// Runtime.evaluate with awaitPromise (render_svc.host_page.embed_expression,
// patch_expression): one CDP command, where webdriver's execute_async_script
// wraps the script and waits for its callback (measured ~20 ms more per render
// under load; bench/render_paths.py).
//
// chartsnapEmbed removes the previous job's views and documents (they hold DOM
// nodes, canvases and signal connections, so leaving them would leak), embeds
// the new item and resolves once the document reports idle, i.e. every view
// has finished painting. This mirrors bokeh.io.export's _WAIT_SCRIPT but
// without polling from Python. The target stays hidden while BokehJS builds
// and paints (layout and canvas drawing do not depend on visibility; measured
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
      done(chartsnapShow(target, marks));
    };
    if (doc.is_idle) finish(); else doc.idle.connect(finish);
  }, fail);
} catch (e) {
  fail(e);
}
});

// The page holds one document of a chart's template (same model ids) and only
// its per-render values changed (render_svc.figure_templates.FigureItem.patch):
// set them through BokehJS's own document patch (what bokeh server does), so
// no JSON of the whole figure is parsed and no model or view is built. Once
// the views have taken the changes in (the root view's `ready`), the canvases
// are cleared, the layout recomputed and every layer painted, synchronously,
// with the view paused before and after, so no other paint can land on top:
// the pixels equal a fresh embed's of the same item (and stock export_png's;
// tests/integration/render/test_warm_patch.py, measured also under load).
// Resolves like
// chartsnapEmbed, or {stale: ...} when the page holds another document (the
// caller then embeds the whole item), or {error: ...} (likewise).
window.chartsnapPatch = (targetId, rootId, patchJson) => new Promise((done) => {
const started = performance.now();
const since = () => Math.round((performance.now() - started) * 10) / 10;
const fail = (e) => done({error: String((e && e.stack) || e)});
try {
  // BokehJS also keeps a root view for its notifications panel.
  const view = [...Bokeh.index.roots].find((v) => v.model.id == rootId);
  if (Bokeh.documents.length != 1 || view == null || view.is_destroyed) {
    done({stale: "the page holds another document"});
    return;
  }
  const target = document.getElementById(targetId);
  target.style.visibility = "hidden";
  const patch = JSON.parse(patchJson);
  const marks = {parsed: since()};
  // Paused, a change only marks what to repaint, so BokehJS's throttled paint
  // is not scheduled; and `ready` starts afresh, so it waits only for this
  // patch's change handlers (a throttled paint whose timer was cleared never
  // settles, and a `ready` chained to it would never resolve).
  if (!view.is_paused) view.pause();  // a patched view stays paused (below)
  view._ready = Promise.resolve();
  Bokeh.documents[0].apply_json_patch(patch);
  marks.built = since();
  view.ready.then(() => {
    // BokehJS clears a layer shifted by half a pixel (CanvasLayer.prepare), so
    // a paint blends the top row and left column of each layer with the
    // previous image (measured: a dark chart's edges, a line legend's glyph
    // ends); a fresh view paints on blank canvases. The layout is computed
    // while still paused: computing it unpaused schedules one more (throttled)
    // paint, which blends like that.
    for (const canvas of chartsnapCanvases(target)) {
      const ctx = canvas.getContext("2d");
      if (ctx == null) throw new Error("a canvas without a 2d context");
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.restore();
    }
    view.invalidate_layout();
    view.invalidate_painters();  // every layer, as a fresh view paints them
    view.unpause(true);
    try {
      view.repaint();
    } finally {
      // Paused again, so that a paint BokehJS scheduled earlier (the embed's
      // throttled repaint) cannot paint over this one before the capture.
      view.pause();
    }
    marks.idle = since();
    done(chartsnapShow(target, marks));
  }).catch(fail);
} catch (e) {
  fail(e);
}
});

const chartsnapShow = (target, marks) => {
  target.style.visibility = "visible";
  const r = target.getBoundingClientRect();
  return {x: r.left, y: r.top, width: r.width, height: r.height, marks};
};

// Every canvas under `node`, inside shadow roots too (BokehJS draws in them).
const chartsnapCanvases = (node) => {
  const found = [];
  for (const el of node.querySelectorAll("*")) {
    if (el instanceof HTMLCanvasElement) found.push(el);
    if (el.shadowRoot != null) found.push(...chartsnapCanvases(el.shadowRoot));
  }
  return found;
};
