"""Security checks (issue 7): tokens never leak, other hosts get nothing, names and descriptions from
strangers are inert, a read-only role for people who query the store, and no SQL built from input.

Everything runs as a user would: the `collector` command as a subprocess against the GitHub simulator on
loopback, with SQLite and the real PostgreSQL.
"""

from __future__ import annotations

import ast
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from collector.store.engine import make_engine
from collector.store.models import Base
from collector.testing.scenarios import load_scenario
from collector.testing.simulator import SimResponse, SimulatorApp
from collector.testing.transport import running_simulator
from tests.conftest import REPO_ROOT, UNPACED_CLIENT, PgServer, cli_env, run_cli

# Recognisable, token-shaped values: any of these substrings in an output is a leak.
TOKEN = "ghp_SECRETcanaryA1b2C3d4E5f6G7h8I9j0KkLl"
REVOKED = "ghp_SECRETcanaryREVOKEDzz99yy88xx77ww66"
CANARIES = (TOKEN, REVOKED, "SECRETcanary", TOKEN[-12:], REVOKED[-12:])

EDGE = load_scenario("edge")
EDGE_NAMES = [r.full_name for r in EDGE.repos]


cli = partial(run_cli, timeout=300)


def leaks(blob: str | bytes) -> list[str]:
    """The canaries found in `blob` (shown by position, never the value)."""
    data = blob.encode("utf-8", "surrogateescape") if isinstance(blob, str) else blob
    return [f"canary #{i}" for i, c in enumerate(CANARIES) if c.encode() in data]


def store_leaks(engine: Engine) -> list[str]:
    """Every text or binary value of every table of the store, searched for the canaries."""
    found = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            # Fixed table names from the database's own catalogue, not input.
            rows = conn.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
            for row in rows:
                for value in row:
                    if isinstance(value, memoryview):
                        value = bytes(value)
                    if isinstance(value, str | bytes) and leaks(value):
                        found.append(table)
    return sorted(set(found))


# --- no token anywhere --------------------------------------------------------------------------------


@dataclass
class World:
    """What one full run of the CLI left behind: outputs, files and the store."""

    backend: str
    cwd: Path
    url: str
    outputs: dict[str, subprocess.CompletedProcess[str]]
    app: SimulatorApp


CONFIG = """
[groups]
edge = [{names}]

[schedules]
collect = "6h"
backfill = "1d"

[reports.daily]
output = "reports/daily-{{date}}.html"
group = "edge"
since = "2026-01"
"""


def _daemon_briefly(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Start the daemon with JSON logs, wait for its first collection to finish, then SIGTERM it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "daemon", "--listen", "127.0.0.1:0"],
        cwd=cwd,
        env=cli_env({**env, "COLLECTOR_LOG_FORMAT": "json"}),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines = []
    deadline = time.monotonic() + 120
    try:
        for line in proc.stderr:  # the daemon logs one JSON object per line to stderr
            lines.append(line)
            if '"job_finished"' in line and '"collect"' in line or time.monotonic() > deadline:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(lines) + rest)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    cwd = tmp_path_factory.mktemp(f"canary-{request.param}")
    pg: PgServer | None = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_server")
        url = pg.create_database()
    else:
        url = f"sqlite:///{cwd / 'collector.db'}"
    names = ", ".join(f'"{n}"' for n in EDGE_NAMES)
    (cwd / "collector.toml").write_text(CONFIG.format(names=names) + UNPACED_CLIENT, encoding="utf-8")
    app = SimulatorApp(EDGE, tokens=[TOKEN], revoked=[REVOKED], points_per_minute=100_000)
    out: dict[str, subprocess.CompletedProcess[str]] = {}
    with running_simulator(app) as base:
        env = {"GITHUB_API_URL": base, "GITHUB_TOKEN": TOKEN, "COLLECTOR_DATABASE_URL": url}
        out["sync"] = cli(cwd, env, "sync")
        out["collect"] = cli(cwd, env, "collect")
        out["backfill"] = cli(cwd, env, "backfill")
        out["backfill_named"] = cli(cwd, env, "backfill", "edge-org/html-description")
        out["status"] = cli(cwd, env, "status")
        out["repos_list"] = cli(cwd, env, "repos", "list")
        for fmt in ("table", "markdown", "csv", "json", "html"):
            out[f"report_{fmt}"] = cli(cwd, env, "report", "--format", fmt)
        for fmt in ("csv", "html"):  # trends written to files
            out[f"trend_{fmt}"] = cli(
                cwd, env, "report", "--since", "2026-01", "--output", f"reports/trend.{fmt}"
            )
        out["report_job"] = cli(cwd, env, "report", "--job", "daily")
        out["revoked"] = cli(cwd, {**env, "GITHUB_TOKEN": REVOKED}, "repos", "add", "edge-org/empty-repo")
        out["two_tokens"] = cli(cwd, {**env, "GITHUB_TOKEN": f"{REVOKED},{TOKEN}"}, "collect")
        out["daemon"] = _daemon_briefly(cwd, env)
    try:
        yield World(request.param, cwd, url, out, app)
    finally:
        if pg is not None:
            pg.drop_database(url)


def test_the_commands_did_their_work(world: World) -> None:
    out = world.outputs
    # Deleted and DMCA-blocked repositories fail by design; the others must be in.
    gone = 2  # the deleted and the DMCA-blocked one
    n = len(EDGE_NAMES)
    assert f"collected {n - gone}/{n} repositories" in out["sync"].stdout, out["sync"].stderr[-2000:]
    for name in ("status", "repos_list", "report_job", *(f"report_{f}" for f in ("csv", "json", "html"))):
        assert out[name].returncode == 0, (name, out[name].stderr[-2000:])
    assert "edge-org/html-description" in out["report_csv"].stdout
    assert out["revoked"].returncode == 2 and "GITHUB_TOKEN #1" in out["revoked"].stderr
    assert "401" in out["revoked"].stderr
    assert '"job_finished"' in out["daemon"].stderr and out["daemon"].returncode == 0
    # The revoked first token is dropped and the second one does the work (gone repositories are skipped).
    assert f"collected {n - gone}/" in out["two_tokens"].stdout, out["two_tokens"].stderr[-2000:]
    # The simulator saw the token (so the canaries were really in play).
    assert f"Bearer {TOKEN}" in world.app.stats.authorization_headers
    assert f"Bearer {REVOKED}" in world.app.stats.authorization_headers


def test_no_token_in_any_output_file_or_table(world: World) -> None:
    found = {}
    for name, result in world.outputs.items():
        if hits := leaks(result.stdout) + leaks(result.stderr):
            found[f"output of {name}"] = hits
    files = [p for p in world.cwd.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".csv" for p in files)
    for path in files:  # the SQLite file and its WAL, the reports, the config
        if hits := leaks(path.read_bytes()):
            found[str(path.relative_to(world.cwd))] = hits
    engine = make_engine(world.url)
    try:
        if tables := store_leaks(engine):
            found["store tables"] = tables
    finally:
        engine.dispose()
    assert found == {}


def test_html_report_shows_a_description_with_markup_as_text(world: World) -> None:
    description = next(r.description for r in EDGE.repos if r.name == "html-description")
    assert description is not None and "<script>" in description
    ranking = world.outputs["report_html"].stdout  # the ranking lists descriptions
    assert "edge-org/html-description" in ranking
    assert "&lt;script&gt;alert(" in ranking and "&lt;b&gt;Fast&lt;/b&gt;" in ranking
    trends = [p.read_text(encoding="utf-8") for p in (world.cwd / "reports").glob("*.html")]
    assert len(trends) == 2  # the --output file and the configured job's
    for page in [ranking, *trends]:
        assert '<script>alert("xss")</script>' not in page
        assert "<img src=x" not in page and "<b>Fast</b>" not in page


# --- names from strangers -----------------------------------------------------------------------------

BAD_NAMES = (
    "acme/..",
    "../acme",
    "acme/rocket/../../etc",
    "acme%2frocket",
    "acme/%2e%2e",
    "%2e%2e/rocket",
    "acme/ro cket",
    " acme/rocket",
    "acme/rocket\t",
    "acme/rocket\n",
    "acme/rocket\x1b[2J",
    "acme/\u202erocket",  # right-to-left override: a control character that disguises the name
)


@pytest.fixture(scope="module")
def quiet_sim(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, str], SimulatorApp]]:
    cwd = tmp_path_factory.mktemp("names")
    app = SimulatorApp(EDGE, tokens=[TOKEN])
    with running_simulator(app) as base:
        env = {
            "GITHUB_API_URL": base,
            "GITHUB_TOKEN": TOKEN,
            "COLLECTOR_DATABASE_URL": f"sqlite:///{cwd / 'collector.db'}",
        }
        assert cli(cwd, env, "db", "upgrade").returncode == 0
        yield cwd, env, app


def test_bad_names_are_refused_before_any_request(
    quiet_sim: tuple[Path, dict[str, str], SimulatorApp],
) -> None:
    cwd, env, app = quiet_sim
    runs = [cli(cwd, env, "repos", "add", *BAD_NAMES), cli(cwd, env, "backfill", *BAD_NAMES)]
    runs += [cli(cwd, env, "report", name) for name in BAD_NAMES]  # report stops at the first bad name
    for out in runs:
        # repos add and report exit 2 (invalid input); backfill exits 1 with all its refusals in one line.
        assert out.returncode in (1, 2) and out.stdout == "", (out.args, out.stdout, out.stderr)
        reported = out.stderr.count("invalid repository name")
        assert reported == (len(BAD_NAMES) if out.args[3] in ("repos", "backfill") else 1), out.stderr
        # Names are echoed escaped: no raw control characters reach the terminal.
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", out.stderr), out.stderr
    assert app.stats.total == 0
    assert app.stats.authorization_headers == []


# --- other hosts --------------------------------------------------------------------------------------


class RedirectingApp(SimulatorApp):
    """The simulator, except that one repository answers 301 to `moved_to` and every Link points to
    `links_to`: what a compromised or misconfigured proxy in front of GitHub could do."""

    def __init__(self, *args: Any, moved: str, moved_to: str, links_to: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.moved, self.moved_to, self.links_to = moved, moved_to, links_to

    def handle(
        self, method: str, url: str, headers: Any, body: bytes = b"", *, client_ip: str = "127.0.0.1"
    ) -> SimResponse:
        parts = urlsplit(url)
        if parts.path == f"/repos/{self.moved}":
            location = f"{self.moved_to}/repositories/1"
            return SimResponse(301, {"location": location, "content-length": "0"}, b"")
        resp = super().handle(method, url, headers, body, client_ip=client_ip)
        if "link" in resp.headers:
            link = resp.headers["link"].replace(f"{parts.scheme}://{parts.netloc}", self.links_to)
            resp = SimResponse(resp.status, {**resp.headers, "link": link}, resp.body, resp.hang)
        return resp


def test_redirects_and_links_to_another_host_are_refused_without_the_token(tmp_path: Path) -> None:
    # Two "other hosts": another address (127.0.0.2) and another port on the same address.
    elsewhere = SimulatorApp(EDGE)
    next_door = SimulatorApp(EDGE)
    with running_simulator(elsewhere, host="127.0.0.2") as far, running_simulator(next_door) as near:
        app = RedirectingApp(EDGE, moved="edge-org/renamed-twice", moved_to=far, links_to=near)
        with running_simulator(app) as base:
            env = {
                "GITHUB_API_URL": base,
                "GITHUB_TOKEN": TOKEN,
                "COLLECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'collector.db'}",
            }
            assert cli(tmp_path, env, "db", "upgrade").returncode == 0
            moved = cli(tmp_path, env, "repos", "add", "edge-org/renamed-twice", "edge-org/huge-history")
            backfill = cli(tmp_path, env, "backfill")
    assert moved.returncode == 2
    assert "tracking: edge-org/huge-history" in moved.stdout
    assert "redirects to another host" in moved.stderr and far.lower() in moved.stderr
    # Stars and forks are paged by Link; both pointed next door and both were refused.
    assert backfill.returncode == 1
    assert backfill.stderr.count("is not on the configured GitHub API host") >= 1, backfill.stderr[-3000:]
    assert "stars:" in backfill.stderr or "forks:" in backfill.stderr
    assert app.stats.total > 0 and f"Bearer {TOKEN}" in app.stats.authorization_headers
    for other in (elsewhere, next_door):
        assert other.stats.total == 0
        assert other.stats.authorization_headers == []
    assert leaks(moved.stdout + moved.stderr + backfill.stdout + backfill.stderr) == []


# --- the read-only role -------------------------------------------------------------------------------

VIEWS = ("repo_latest", "repo_daily", "repo_weekly")


@pytest.mark.postgres
def test_reader_role_reads_the_views_and_cannot_write_or_read_tables(pg_url: str, tmp_path: Path) -> None:
    # Roles are shared by the whole server: unique names, so parallel runs and real roles are untouched.
    suffix = uuid.uuid4().hex[:8]
    role, person = f"collector_reader_{suffix}", f"analyst_{suffix}"
    env = {"COLLECTOR_DATABASE_URL": pg_url}
    assert cli(tmp_path, env, "db", "upgrade").returncode == 0
    first = cli(tmp_path, env, "db", "create-reader-role", "--name", role)
    again = cli(tmp_path, env, "db", "create-reader-role", "--name", role)
    assert first.returncode == 0 and f"role {role} created" in first.stdout, first.stderr
    assert again.returncode == 0 and "already existed" in again.stdout, again.stderr
    bad = cli(tmp_path, env, "db", "create-reader-role", "--name", 'x"; DROP TABLE runs; --')
    assert bad.returncode == 2 and "not a usable role name" in bad.stderr

    admin = make_engine(pg_url)
    reader = make_engine(make_engine(pg_url).url.set(username=person).render_as_string(hide_password=False))
    try:
        with admin.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO repositories (full_name, name_key, archived, tracked, added_at) "
                    "VALUES ('acme/rocket', 'acme/rocket', false, true, now())"
                )
            )
            conn.execute(text(f"CREATE ROLE {person} LOGIN IN ROLE {role}"))
        tables = [*Base.metadata.tables, "alembic_version"]
        with reader.connect() as conn:
            for view in VIEWS:
                conn.execute(text(f"SELECT * FROM {view}")).all()  # noqa: S608 - fixed names
            latest = conn.execute(text("SELECT repo FROM repo_latest")).scalars().all()
        assert latest == ["acme/rocket"]
        refused = []
        statements = [f"SELECT * FROM {t}" for t in tables]  # noqa: S608 - fixed names
        statements += [f"INSERT INTO {t} DEFAULT VALUES" for t in [*tables, *VIEWS]]
        statements += [f"DELETE FROM {t}" for t in [*tables, *VIEWS]]  # noqa: S608 - fixed names
        statements += [f"TRUNCATE {t}" for t in tables]
        statements += ["UPDATE repositories SET tracked = false", "CREATE TABLE mine (x int)"]
        for sql in statements:
            try:
                with reader.begin() as conn:
                    conn.execute(text(sql))
            except DBAPIError as exc:
                # Tables for lack of privilege; the views are not updatable in the first place.
                if "permission denied" in str(exc.orig) or set(sql.split()) & set(VIEWS):
                    refused.append(sql)
        assert refused == statements
    finally:
        reader.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}, {person}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {person}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def test_reader_role_is_refused_on_sqlite(tmp_path: Path) -> None:
    env = {"COLLECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'collector.db'}"}
    out = cli(tmp_path, env, "db", "create-reader-role")
    assert out.returncode == 1 and "only on PostgreSQL" in out.stderr


# --- SQL is never built from input --------------------------------------------------------------------

SQL_RE = re.compile(
    r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|CREATE|DROP|ALTER|GRANT|REVOKE|TRUNCATE"
    r"|PRAGMA|WHERE)\b"
)
SQL_SINKS = {"text", "exec_driver_sql", "literal_column", "execute", "executescript"}

# (file, function): why building SQL there is safe. Each entry must still be needed (checked below).
ALLOWED = {
    ("collector/store/columns.py", "fetch_columns"): "text() of the report queries above; values are bound",
    ("collector/store/columns.py", "_packed_columns"): (
        "wraps the same fixed query in array_agg columns c0..cN; values are bound by psycopg"
    ),
    ("collector/store/roles.py", "ensure_reader_role"): "identifiers checked by pattern, quoted by dialect",
    ("collector/store/roles.py", "_create_role"): "identifier checked by pattern, quoted by the dialect",
    ("collector/cli/db.py", "create_reader_role"): "prints a GRANT for the user to run; never executed",
    ("collector/store/grants.py", "save_grants"): (
        "grants what load_grants read from pg_class's ACL (roles quote_ident'ed by PostgreSQL, privilege "
        "names from it) on a view the calling migration names by a constant"
    ),
    ("migrations/versions/0008_github_strings_as_text.py", "_pg_views_dropped"): (
        "drops and recreates the migration's own fixed views from pg_get_viewdef"
    ),
    ("migrations/versions/0008_github_strings_as_text.py", "_sqlite_declare"): (
        "PRAGMA schema_version takes no parameter: the value is an int() of what SQLite reported"
    ),
}


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "literal" (or a sum of literals): constants, not input."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = _literal(node.value, found)
            for target in targets:
                if isinstance(target, ast.Name) and value is not None:
                    found[target.id] = value
    return found


def _literal(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, constants), _literal(node.right, constants)
        return None if left is None or right is None else left + right
    return None


def _sqlish(node: ast.expr, constants: dict[str, str]) -> bool:
    """Whether the constant parts of a string expression look like SQL."""
    parts: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            parts.append(sub.value)
        elif isinstance(sub, ast.Name) and sub.id in constants:
            parts.append(constants[sub.id])
    return bool(SQL_RE.search(" ".join(parts)))


def find_built_sql(source: str) -> list[tuple[str, int, str]]:
    """(function, line, what) for every SQL string built with interpolation or passed non-constant."""
    tree = ast.parse(source)
    constants = _module_constants(tree)
    findings: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        built = None
        if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
            built = "f-string"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
            if _literal(node, constants) is None and (
                isinstance(node.left, ast.Constant | ast.Name | ast.JoinedStr | ast.BinOp)
            ):
                built = "% or + on a string"
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
        ):
            built = ".format()"
        if built and isinstance(node, ast.expr) and _sqlish(node, constants):
            findings.append((function, getattr(node, "lineno", 0), f"SQL built with {built}"))
        if isinstance(node, ast.Call) and node.args:
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            arg = node.args[0]
            is_string_expr = isinstance(arg, ast.JoinedStr | ast.BinOp) or (
                isinstance(arg, ast.Call)
                and isinstance(arg.func, ast.Attribute)
                and arg.func.attr == "format"
            )
            if name in SQL_SINKS and _literal(arg, constants) is None:
                if name != "execute" or is_string_expr:  # execute(select(...)) is a statement object
                    findings.append((function, node.lineno, f"{name}() of a non-constant string"))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return sorted(set(findings), key=lambda f: (f[1], f[2]))


def test_the_scanner_catches_sql_built_from_input() -> None:
    bad = """
def load(session, name, ids):
    session.execute(text(f"SELECT * FROM repositories WHERE name_key = '{name}'"))
    session.execute(text("DELETE FROM runs WHERE id = %s" % ids))
    session.execute(text("SELECT * FROM runs WHERE id IN ({})".format(ids)))
    conn.exec_driver_sql("UPDATE leases SET holder = '" + name + "'")
    session.execute(text(name))
"""
    good = """
QUERY = "SELECT 1 FROM repositories WHERE " + "name_key = :name"
def load(session, name):
    session.execute(text(QUERY), {"name": name})
    session.execute(text("SELECT * FROM runs WHERE id = :id"), {"id": 1})
    session.execute(select(Run).where(Run.id == name))
    raise ValueError(f"repository {name} was not found; select another")
"""
    assert [line for _, line, _ in find_built_sql(bad)] == [3, 3, 4, 4, 5, 5, 6, 6, 7]
    assert find_built_sql(good) == []


def test_every_sql_statement_is_parameterised() -> None:
    findings = []
    used = set()
    for folder in ("collector", "migrations"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            for function, line, what in find_built_sql(path.read_text(encoding="utf-8")):
                if (relative, function) in ALLOWED:
                    used.add((relative, function))
                else:
                    findings.append(f"{relative}:{line} in {function}: {what}")
    assert findings == []
    assert used == set(ALLOWED), "an allow-list entry is no longer needed: remove it"
