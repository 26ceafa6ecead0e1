"""Browser tests: Playwright drives Debian's Chromium against a live `siyu serve`.

One server and one browser serve the whole session; every test gets a fresh browser context
(its own cookies), so tests do not depend on each other's sign-ins.

The server runs on SQLite only, even when SIYU_TEST_DATABASE_URL is set: what these tests check
is the pages in a browser, and the services under them run on PostgreSQL in the other suites.
The database is a small demo merchant (`siyu init`) plus staff with known passwords.

Without /usr/bin/chromium or the playwright package the tests skip, except under CI=true, where
a missing browser fails them. Every page a test visits is saved as a full-page screenshot in
var/screenshots/<test>/ (ignored by git). SIYU_README_SCREENSHOTS=1 also writes the README's
screenshots into docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact, ContactIdentity
from siyu.db.session import make_engine
from siyu.kit.actor import Actor
from siyu.staff import service as staff_service

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

try:
    import playwright.sync_api  # noqa: F401

    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False

CHROMIUM = Path(os.environ.get("SIYU_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "correct horse battery"
DEMO_CUSTOMERS = 200
SERVER_START_SECONDS = 60
# A full-page shot of a long page in software rendering can take a few seconds.
SHOT_TIMEOUT_MS = 20_000
# Charts animate for about a second after they are drawn.
README_SETTLE_MS = 1500


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    phone: str


@dataclass(frozen=True)
class People:
    """Who signs in, and customers whose owner matters to a test."""

    showcase: Customer  # a named customer with a phone and the most orders: search and 360
    own_customer: int  # owned by `staff`
    others_customer: int  # owned by `other_staff`
    admin: str = "zhou.min"  # admin, signs in by login, e-mail or phone
    admin_email: str = "zhou.min@example.com"
    admin_phone: str = "13900139001"
    staff: str = "zhangwei"  # demo staff (导购), given a password
    other_staff: str = "wangfang"


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str
    people: People


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _missing(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason}; CI=true requires the browser tests to run", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(database_url: str) -> People:
    """Staff with known passwords, through the same services the console calls, and the demo
    customers the tests look at."""
    engine = make_engine(database_url)
    system = Actor.system()
    defaults = People(showcase=Customer(0, "", ""), own_customer=0, others_customer=0)
    with Session(engine) as session:
        staff_service.create_staff(
            session,
            login=defaults.admin,
            name="周敏",
            role="admin",
            email=defaults.admin_email,
            phone=defaults.admin_phone,
            password=PASSWORD,
            actor=system,
        )
        owned = {}
        for login in (defaults.staff, defaults.other_staff):
            staff_service.set_password(session, login=login, password=PASSWORD, actor=system)
            owner = staff_service.get_staff(session, login)
            owned[login] = session.execute(
                select(Contact.id).where(Contact.owner_id == owner.id).order_by(Contact.id).limit(1)
            ).scalar_one()
        showcase = session.execute(
            select(Contact.id, Contact.name, ContactIdentity.value)
            .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
            .where(ContactIdentity.kind == "phone", Contact.name.is_not(None))
            .where(Contact.id.not_in(owned.values()))
            .order_by(Contact.order_count.desc(), Contact.id)
            .limit(1)
        ).one()
        session.commit()
    engine.dispose()
    return replace(
        defaults,
        showcase=Customer(*showcase),
        own_customer=owned[defaults.staff],
        others_customer=owned[defaults.other_staff],
    )


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"siyu serve exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"siyu serve did not answer in time:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, never a downloaded one; checked before any server is started."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is missing (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield browser
        browser.close()


def _test_channels(home: Path) -> str:
    """A folder whose distribution metadata registers the keeping channel of
    tests/engage/keeping.py under `siyu.channels`, so the server has a channel to send with
    and the test's messages go nowhere; found by the same entry point lookup as real plugins."""
    folder = home / "plugins"
    info = folder / "siyu_test_channels-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: siyu-test-channels\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[siyu.channels]\nkeeping = tests.engage.keeping:Keeping\n"
    )
    return str(folder)


@pytest.fixture(scope="session")
def live_server(chromium: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`siyu serve` with its in-process worker on a free loopback port, over a demo merchant."""
    home = tmp_path_factory.mktemp("live")
    database_url = f"sqlite:///{home / 'siyu.db'}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([_test_channels(home), str(ROOT)]),
        "SIYU_DATABASE_URL": database_url,
        "SIYU_SECRET_KEY": "browser-test-session-key",
        "SIYU_UPLOAD_DIR": str(home / "uploads"),
        "SIYU_RUN_WORKER": "true",
    }
    siyu = [sys.executable, "-m", "siyu.cli.main"]
    # cwd is the temporary folder, so no .env or var/ of the work tree is read or written.
    subprocess.run(
        [*siyu, "init", "--customers", str(DEMO_CUSTOMERS)],
        cwd=home,
        env=env,
        check=True,
        capture_output=True,
    )
    people = _seed(database_url)
    url = f"http://127.0.0.1:{_free_port()}"
    log = home / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*siyu, "serve", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]],
            cwd=home,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_health(url, process, log)
            yield Server(url=url, database_url=database_url, people=people)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Shots:
    """Full-page screenshots of every page a test visits, numbered in order.

    A shot is taken after each `page.goto` and `page.reload`, of a page reached by a click when
    the test next navigates or ends, and whenever a test calls `take`. (Shooting from the
    page's load event would race the test's next click: a shot of a page that is navigating
    away hangs.) `readme` keeps one viewport for the README when asked to.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.page: Page | None = None
        self.count = 0
        self.unshot_loads = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def take(self, label: str = "") -> Path:
        assert self.page is not None
        self.count += 1
        self.unshot_loads = 0
        name = label or _slug(self.page.url.split("//", 1)[-1].split("/", 1)[-1]) or "home"
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True, timeout=SHOT_TIMEOUT_MS)
        return path

    def catch_up(self) -> None:
        """Shoot a page reached by a click before the test leaves it."""
        if self.unshot_loads:
            self.take()

    def watch(self, page: Page) -> None:
        self.page = page
        page.on("load", lambda _page: self._loaded())
        for name in ("goto", "reload"):
            setattr(page, name, self._shooting(getattr(page, name)))

    def _loaded(self) -> None:
        self.unshot_loads += 1

    def _shooting(self, navigate: Callable[..., Any]) -> Callable[..., Any]:
        def navigate_and_shoot(*args: Any, **kwargs: Any) -> Any:
            self.catch_up()
            response = navigate(*args, **kwargs)
            self.take()
            return response

        return navigate_and_shoot

    @property
    def for_readme(self) -> bool:
        return os.environ.get("SIYU_README_SCREENSHOTS") == "1"

    def readme(self, name: str) -> None:
        """The visible viewport only, small enough to commit, when asked for."""
        if not self.for_readme:
            return
        assert self.page is not None
        self.page.wait_for_timeout(README_SETTLE_MS)
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = README_SCREENSHOTS / f"{name}.png"
        path.write_bytes(_smaller_png(self.page.screenshot(full_page=False)))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text.split("?", 1)[0]).strip("-")[:60]


def _smaller_png(data: bytes) -> bytes:
    """The same image with its pixel data recompressed at zlib's best level and metadata
    dropped; no image library is needed, as the filtered scanlines are kept as they are."""
    signature, chunks, position = data[:8], [], 8
    idat = b""
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IDAT":
            idat += body
        elif kind in (b"IHDR", b"PLTE", b"tRNS", b"IEND"):
            chunks.append((kind, body))
    pixels = zlib.compress(zlib.decompress(idat), 9)
    out = [signature]
    for kind, body in chunks:
        if kind == b"IEND":
            out.append(_chunk(b"IDAT", pixels))
        out.append(_chunk(kind, body))
    return b"".join(out)


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + kind + body + crc


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(SCREENSHOTS / _slug(request.node.name))


@pytest.fixture
def page(
    chromium: Browser, live_server: Server, shots: Shots, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A new context (no cookies, English unless a test asks otherwise) at 1280×800."""
    marker = request.node.get_closest_marker("browser_context")
    options: dict[str, Any] = {
        "base_url": live_server.url,
        "viewport": {"width": 1280, "height": 800},
        "locale": "en-US",
        **(marker.kwargs if marker else {}),
    }
    context = chromium.new_context(**options)
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    shots.watch(new_page)
    try:
        yield new_page
        shots.take("end")
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


@pytest.fixture
def sign_in(page: Page) -> Callable[..., Page]:
    """Sign in through the login form as anyone; lands on the page asked for."""

    def sign_in_as(identifier: str, password: str = PASSWORD, next: str = "/") -> Page:
        page.goto(f"/login?next={next}")
        page.get_by_label("Login, e-mail or phone").fill(identifier)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        return page

    return sign_in_as


@pytest.fixture
def as_admin(sign_in: Callable[..., Page], live_server: Server) -> Page:
    return sign_in(live_server.people.admin)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The test modules import playwright; without it only test_browser_available.py is
    collected, and it skips (or fails under CI=true) with the reason."""
    if HAVE_PLAYWRIGHT or collection_path.name == "test_browser_available.py":
        return None
    return collection_path.name.startswith("test_")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser_context(**options): options of the test's Playwright context"
    )
