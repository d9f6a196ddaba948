"""The built book, as a reader's browser sees it (run after `jupyter-book build`, by `make book-check`).

Pages are served from _build/html on localhost and opened in Debian's headless Chromium, driven by
selenium through Debian's chromedriver (never a downloaded browser). Every other host name resolves to
nothing, so a page that needs the network fails here as it would offline. For each chapter the test
fails on a JavaScript console error, a plotly figure that drew no SVG, a request that left localhost, an
image that did not load, a formula MathJax did not typeset or a raw `$` left in the text; it moves the
slider of every interactive figure (a real click on the slider's rail; a button or dropdown entry for
figures with only those) and checks that the figure changed; and
it saves a full-page screenshot under _build/screenshots/.
Internal links (<a href>, <img src>, scripts, stylesheets) of every built page are checked without a
browser: the file exists and so does the #anchor on the target page.

VIDLEARN_BOOK_DIR points the test at a book built elsewhere (the directory holding _toc.yml and _build/).
"""

import base64
import functools
import html.parser
import http.server
import os
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = Path(os.environ.get("VIDLEARN_BOOK_DIR", ROOT)).resolve()
HTML = BOOK / "_build" / "html"
SHOTS = BOOK / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PAGES = sorted(p.relative_to(HTML).as_posix() for p in (HTML / "book").glob("*.html"))
ALL_PAGES = sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                   if not p.relative_to(HTML).parts[0].startswith("_"))  # not _static/, _sources/
WIDTH, HEIGHT = 1280, 1600
MAX_SHOT_HEIGHT = 30_000  # px: a full chapter, cut there so that a runaway page cannot exhaust memory
FIGURE_TIMEOUT = 20  # s for every plotly figure of a page to draw
# what the browser may fetch: the local server, and URLs that carry their own bytes
LOCAL = ("data:", "blob:", "about:")


# ---------------------------------------------------------------------------- without a browser


def test_every_chapter_was_built():
    toc = (BOOK / "_toc.yml").read_text()
    for entry in re.findall(r"(?:file|root):\s*(\S+)", toc):
        assert (HTML / f"{entry}.html").exists(), f"{entry} is in _toc.yml but was not built"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_no_script_or_style_from_the_network(page):
    html = (HTML / page).read_text()
    remote = [url for tag, url in _parse(HTML / page).refs if tag != "a" and not _is_local(url)
              and not url.startswith(LOCAL)]
    assert not remote, f"{page} loads {remote} from the network"
    if "plotly-graph-div" in html:
        assert "_static/plotly.min.js" in html, f"{page} has plotly figures but does not load the book's plotly.js"


class _Refs(html.parser.HTMLParser):
    """The ids a page defines and the local URLs it refers to."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.refs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        attr = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src"}.get(tag)
        if attr and attrs.get(attr) and not (tag == "link" and attrs.get("rel") in ("canonical", "alternate")):
            self.refs.append((tag, attrs[attr]))


@functools.cache
def _parse(path: Path) -> _Refs:
    refs = _Refs()
    refs.feed(path.read_text(errors="replace"))
    return refs


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith(("//", "mailto:", "javascript:"))


@pytest.mark.parametrize("page", ALL_PAGES)
def test_internal_links_and_images_resolve(page):
    source = HTML / page
    broken = []
    for tag, url in _parse(source).refs:
        if not _is_local(url):
            continue
        parts = urlsplit(url)
        target = (source.parent / unquote(parts.path)).resolve() if parts.path else source
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"<{tag}> {url}: no file {target}")
            continue
        anchor = unquote(parts.fragment)
        if anchor and target.suffix == ".html" and anchor not in _parse(target).ids:
            broken.append(f"<{tag}> {url}: {target.name} has no id {anchor!r}")
    assert not broken, f"{page}: broken internal references:\n  " + "\n  ".join(broken)


# ---------------------------------------------------------------------------- in headless Chromium


@pytest.fixture(scope="module")
def server():
    assert HTML.is_dir(), "build the book first (make book-check)"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # the browser asks for a favicon on its own; the book has none
            if self.path == "/favicon.ico" and not (HTML / "favicon.ico").exists():
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

    handler = functools.partial(Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver  # in requirements.txt

    for exe in (CHROMIUM, CHROMEDRIVER):
        assert os.access(exe, os.X_OK), f"{exe} is missing: `make browser` installs Debian's chromium, chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--disable-quic", "--mute-audio",
                 "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={WIDTH},{HEIGHT}",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 # no network: every host but the local server resolves to nothing
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for a browser
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, script, timeout, *args):
    """Poll a JS expression until it returns something truthy; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script, *args)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


_FIGURES_DRAWN = """
const divs = Array.from(document.querySelectorAll('div.plotly-graph-div'));
const drawn = divs.filter(d => d.classList.contains('js-plotly-plot') && d.querySelector('svg.main-svg'));
return document.readyState === 'complete' && drawn.length === divs.length ? [drawn.length, divs.length] : null;
"""
_FIGURE_COUNT = """
const divs = Array.from(document.querySelectorAll('div.plotly-graph-div'));
return [divs.filter(d => d.classList.contains('js-plotly-plot') && d.querySelector('svg.main-svg')).length,
        divs.length];
"""
_IMAGES_NOT_LOADED = """
const imgs = Array.from(document.images);
imgs.forEach(i => { i.loading = 'eager'; });
return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src);
"""
# MathJax (served by the book) typeset every formula: one <mjx-container> per Sphinx math node, no <mjx-merror>
_MATH = """
const nodes = document.querySelectorAll('span.math, div.math').length;
const done = document.querySelectorAll('mjx-container').length;
return [nodes, done, document.querySelectorAll('mjx-merror').length];
"""
# text a reader sees with a raw `$` in it: dollar math that was not parsed (code, outputs and figures aside)
_RAW_DOLLARS = """
const skip = 'pre, code, script, style, .math, mjx-container, .js-plotly-plot, .highlight, textarea';
const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
const found = [];
while (walker.nextNode()) {
  const node = walker.currentNode;
  if (node.nodeValue.includes('$') && !node.parentElement.closest(skip)) found.push(node.nodeValue.trim().slice(0, 80));
}
return found;
"""
_RESOURCES = """
return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name));
"""
# a fingerprint of what a figure shows: its data, its layout less the controls' own state, its drawn plot
_FINGERPRINT = """
const gd = arguments[0];
const layout = Object.assign({}, gd.layout);
delete layout.sliders; delete layout.updatemenus;
const plot = Array.from(gd.querySelectorAll('svg.main-svg > *:not(.infolayer):not(.menulayer)'))
  .map(e => e.outerHTML).join('');
const text = JSON.stringify(gd.data) + JSON.stringify(layout) + plot;
let h = 2166136261;
for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
return (h >>> 0).toString(16) + ':' + text.length;
"""
# per interactive figure: its first slider, else its first menu, and the entry a reader would try: the far end of
# the slider, the last button other than the active one (play/pause buttons are left alone: sliders drive frames)
_CONTROLS = """
const title = gd => (gd.layout.title && (gd.layout.title.text || gd.layout.title)) || gd.id;
return Array.from(document.querySelectorAll('div.js-plotly-plot')).map((gd, i) => {
  const fl = gd._fullLayout, slider = (fl.sliders || [])[0], menu = (fl.updatemenus || [])[0];
  if (slider && slider.steps.length > 1) {
    const n = slider.steps.length;
    return [i, gd, 'slider', n, (slider.active || 0) > (n - 1) / 2 ? 0 : n - 1, title(gd)];
  }
  if (menu && menu.buttons.length > 1) {
    const ok = menu.buttons.map((b, j) => j).filter(j => j !== menu.active && !['animate', 'skip'].includes(
      menu.buttons[j].method));
    if (ok.length) return [i, gd, menu.type, menu.buttons.length, ok[ok.length - 1], title(gd)];
  }
  return null;
}).filter(c => c);
"""
# figures whose title and legend are drawn over each other (the boxes the reader sees, in page pixels)
_OVERLAPS = """
const box = e => e && e.getBoundingClientRect();
const hit = (a, b) => a && b && a.width > 0 && b.width > 0 && a.left < b.right && b.left < a.right &&
  a.top < b.bottom && b.top < a.bottom;
return Array.from(document.querySelectorAll('div.js-plotly-plot')).map((gd, i) => {
  const t = box(gd.querySelector('.infolayer text.gtitle')), l = box(gd.querySelector('.infolayer .legend rect.bg'));
  return hit(t, l) ? [i, (t && gd.querySelector('.infolayer text.gtitle').textContent.slice(0, 60))] : null;
}).filter(c => c);
"""
_ACTIVE = """
const fl = arguments[0]._fullLayout;
return arguments[1] === 'slider' ? fl.sliders[0].active : fl.updatemenus[0].active;
"""


def _console_errors(driver):
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _figure_changed(driver, gd, before, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # let animations (frame transitions) finish before comparing
        if driver.execute_script(_FINGERPRINT, gd) != before:
            time.sleep(0.3)
            return True
        time.sleep(0.1)
    return False


def _click_control(driver, gd, kind, count, target):
    """Click step `target` of the figure's slider, or button `target` of its menu, as a reader would."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", gd)
    if kind == "slider":
        rail = gd.find_element("css selector", ".slider-container .slider-rail-touch-rect")
        width = rail.rect["width"]
        # the rail spans the steps evenly: aim at the chosen step, measured from the rail's centre
        x = (target + 0.5) / count * width - width / 2
        x = max(-width / 2 + 2, min(width / 2 - 2, x))
        ActionChains(driver).move_to_element_with_offset(rail, int(x), 0).click().perform()
        return
    menu = gd.find_element("css selector", ".updatemenu-container")
    if kind == "dropdown":
        ActionChains(driver).click(menu.find_element("css selector", ".updatemenu-header rect")).perform()
        css = ".updatemenu-dropdown-button-group .updatemenu-dropdown-button rect"
        deadline = time.monotonic() + 5
        while len(menu.find_elements("css selector", css)) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        buttons = menu.find_elements("css selector", css)
    else:
        buttons = menu.find_elements("css selector", ".updatemenu-header-group .updatemenu-button rect")
    ActionChains(driver).click(buttons[target]).perform()


def _screenshot(driver, png: Path):
    """The whole page as a reader scrolls through it: the viewport is made as tall as the page (at most
    MAX_SHOT_HEIGHT), from the top, with nothing focused; then put back."""
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    height = min(MAX_SHOT_HEIGHT, int(driver.execute_script(
        "return Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));")))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        time.sleep(0.5)  # let the figures re-lay out at the new size
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    png.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.parametrize("page", PAGES)
def test_page_in_headless_chromium(page, server, browser):
    """Everything a reader would notice on one chapter; all problems of the page are reported together."""
    html = (HTML / page).read_text()
    expected = html.count('class="plotly-graph-div"')
    problems = []
    browser.get_log("browser")  # drop what earlier pages left
    browser.get(f"{server}/{page}")
    drawn = _wait(browser, _FIGURES_DRAWN, FIGURE_TIMEOUT) or browser.execute_script(_FIGURE_COUNT)
    if drawn != [expected, expected]:
        problems.append(f"{drawn[0]} of {expected} plotly figures drew an SVG ({drawn[1]} figure divs in the page)")
    if '"type":"image"' in html and not browser.find_elements("css selector", "div.js-plotly-plot svg image"):
        problems.append("image traces drew no <image> element")

    nodes, typeset, errors = (_wait(browser, "const r = (() => {" + _MATH + "})(); return r[1] >= r[0] && r;", 20)
                              or browser.execute_script(_MATH))
    if typeset < nodes or errors:
        problems.append(f"MathJax typeset {typeset} of {nodes} formulas ({errors} with TeX errors)")
    problems += [f"raw $ in the text (math not parsed): {text!r}" for text in browser.execute_script(_RAW_DOLLARS)]

    if not _wait(browser, "return (() => {" + _IMAGES_NOT_LOADED + "})().length === 0;", 10):
        problems += [f"image did not load: {src}" for src in browser.execute_script(_IMAGES_NOT_LOADED)]

    problems += [f"figure {i}: its title runs into its legend: {t!r}" for i, t in browser.execute_script(_OVERLAPS)]
    for index, gd, kind, count, target, title in browser.execute_script(_CONTROLS):
        before = browser.execute_script(_FINGERPRINT, gd)
        what = "slider" if kind == "slider" else f"{kind} menu"
        try:
            _click_control(browser, gd, kind, count, target)
        except Exception as exc:  # noqa: BLE001 - reported with the page's other problems
            problems.append(f"figure {index} ({title!r}): could not click its {what}: {type(exc).__name__}: {exc}")
            continue
        now = browser.execute_script(_ACTIVE, gd, kind)
        if now != target:
            problems.append(f"figure {index} ({title!r}): a click on entry {target} of its {what} left it at {now}")
        elif not _figure_changed(browser, gd, before):
            problems.append(f"figure {index} ({title!r}): moving its {what} to entry {target} changed nothing")

    problems += [f"figure {i}, after its control moved: its title runs into its legend: {t!r}"
                 for i, t in browser.execute_script(_OVERLAPS)]

    # last: the full-page capture resizes the viewport, which re-lays out the figures (and can move sliders)
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = SHOTS / (Path(page).stem + ".png")
    _screenshot(browser, png)
    if not (png.exists() and png.stat().st_size > 10_000):
        problems.append(f"no screenshot in {png}")

    origin = server + "/"
    problems += [f"fetched from the network: {url}" for url in browser.execute_script(_RESOURCES)
                 if not url.startswith((origin, *LOCAL))]
    problems += [f"console error: {message}" for message in _console_errors(browser)]
    assert not problems, f"{page} in Chromium:\n  " + "\n  ".join(problems)
