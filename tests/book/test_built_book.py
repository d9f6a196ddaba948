"""The built book, as a reader's browser sees it (run after `jupyter-book build`, by `make book-check`).

Pages are served from _build/html on localhost and opened in Debian's headless Chromium; the DOM after
the page's scripts ran is checked: every plotly figure drew an SVG, nothing loads from the network.
A screenshot of each page is saved under _build/screenshots/.
"""

import functools
import http.server
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = sorted(p.relative_to(HTML).as_posix() for p in (HTML / "book").glob("*.html"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=15000", "--window-size=1280,2000"]


@pytest.fixture(scope="module")
def server():
    assert HTML.is_dir(), "build the book first (make book-check)"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _chromium(args, tmp_path):
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_every_chapter_was_built():
    toc = (ROOT / "_toc.yml").read_text()
    for entry in re.findall(r"(?:file|root):\s*(\S+)", toc):
        assert (HTML / f"{entry}.html").exists(), f"{entry} is in _toc.yml but was not built"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_no_script_or_style_from_the_network(page):
    html = (HTML / page).read_text()
    remote = re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"(https?://[^\"]+)\"", html)
    remote = [u for u in remote if not u.startswith("https://colab.research.google.com")]
    assert not remote, f"{page} loads {remote} from the network"
    if "plotly-graph-div" in html:
        assert "_static/plotly.min.js" in html, f"{page} has plotly figures but does not load the book's plotly.js"


@pytest.mark.parametrize("page", PAGES)
def test_every_plotly_figure_draws_in_headless_chromium(page, server, tmp_path):
    html = (HTML / page).read_text()
    expected = html.count('class="plotly-graph-div"')
    url = f"{server}/{page}"
    dom = _chromium(["--dump-dom", url], tmp_path).stdout
    assert "</html>" in dom, f"Chromium returned no DOM for {page}"
    drawn = len(re.findall(r'class="plotly-graph-div[^"]*js-plotly-plot', dom))
    assert drawn == expected, f"{page}: {drawn} of {expected} plotly figures drew"
    assert dom.count('class="main-svg"') >= expected
    if '"type":"image"' in html:  # figures with frames as images drew their pictures
        assert "<image" in dom, f"{page}: image traces drew no <image> element"
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    png = shots / (Path(page).stem + ".png")
    _chromium([f"--screenshot={png}", url], tmp_path)
    assert png.exists() and png.stat().st_size > 10_000, f"no screenshot of {page}"
