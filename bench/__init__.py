"""`make bench`: the warm renderer against stock bokeh export, and the whole
stack end to end, measured side by side in one run (see bench/__main__.py)."""
