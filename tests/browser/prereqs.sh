# prereqs.sh: sourced by the headless-Chromium tests (serve_browser.sh, dashboard_browser.sh) after
# they set $data and $here: skips (exit 77) without MNIST, chromium, node or puppeteer-core, and
# sets $chrome to the browser to drive.
skip() { echo "skip: $*"; exit 77; }
[ -e "$data/t10k-images-idx3-ubyte" ] || [ -e "$data/t10k-images-idx3-ubyte.gz" ] || skip "MNIST not in $data"
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$chrome" ] || skip "no chromium (apt-get install chromium)"
command -v node >/dev/null || skip "no node (apt-get install nodejs)"
[ -d "$here/browser/node_modules/puppeteer-core" ] || skip "no puppeteer-core: npm ci --prefix tests/browser"
