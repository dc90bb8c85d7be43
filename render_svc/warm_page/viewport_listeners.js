// Runs in the host page before BokehJS loads.
//
// BokehJS 3.x's PlotView adds a `visualViewport` "resize" listener that its
// remove() never takes away, so every plot view ever drawn, with its DOM and
// canvases, stays reachable: measured ~7 MB more in the renderer and ~3 MB more
// in the GPU process per render, i.e. the 2 GiB recycle bound was hit after
// ~150 renders. The page draws one document at a time, so it remembers those
// listeners and embed.js drops them with the old views.
(() => {
  const viewport = window.visualViewport;
  const added = [];
  if (viewport != null) {
    const add = viewport.addEventListener.bind(viewport);
    viewport.addEventListener = (type, listener, options) => {
      added.push([type, listener, options]);
      add(type, listener, options);
    };
  }
  window.chartsnapDropViewportListeners = () => {
    for (const [type, listener, options] of added.splice(0)) viewport.removeEventListener(type, listener, options);
  };
})();
