"""The web UI (``faceforge ui``): a Gradio app over the same pipeline, options and jobs as the CLI.

- :mod:`faceforge.ui.server`: where it binds and who may use it (local by default, auth required beyond).
- :mod:`faceforge.ui.uploads`: upload limits and the per-session folder uploads are kept in.
- :mod:`faceforge.ui.controls`: the option controls, generated from the option declarations.
- :mod:`faceforge.ui.faces`: the target's faces as thumbnails, and the selection they make.
- :mod:`faceforge.ui.jobs`: the SQLite job table and the runner that works through it in order.
- :mod:`faceforge.ui.swap_tab`, :mod:`~faceforge.ui.compare_tab`, :mod:`~faceforge.ui.live_tab`,
  :mod:`~faceforge.ui.train_tab`: the tabs.
- :mod:`faceforge.ui.app`: the Gradio Blocks that put them together.
"""
