"""The web UI: static HTML, CSS and ES modules in ``static/``, served by the control plane at ``/ui/``.

No build step: plain ES modules and SVG charts drawn in the browser. The page holds no data until the user
pastes a bearer token; every call goes to the REST API with ``Authorization: Bearer`` (never a cookie).
"""
