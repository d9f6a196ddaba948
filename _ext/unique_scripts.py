"""Each <script> once per page.

sphinx-thebe and sphinx-togglebutton add inline scripts with `app.add_js_file(None, body=...)` while the build
runs; Sphinx 7.4 then keeps two copies of each (one with filename None, one with ''), and the second
`const THEBE_JS_URL` is a JavaScript error on every page.
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    files = context.get("script_files")
    if not files:
        return
    seen, unique = set(), []
    for js in files:
        attrs = getattr(js, "attributes", None) or {}
        key = (getattr(js, "filename", None) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
