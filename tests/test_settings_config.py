"""Settings from the environment and the TOML config: defaults, validation, secrecy."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.config import load_config, parse_schedule
from collector.domain import parse_repo_name, week_start
from collector.errors import ConfigError, InvalidRepoName
from collector.github.options import CONFIG_KEYS
from collector.reports.model import OPTION_KEYS
from collector.settings import load_settings

SECRET = "ghp_SECRETsecretSECRET0123456789"


def test_defaults(tmp_path: Path) -> None:
    s = load_settings({}, cwd=tmp_path)
    assert s.database_url == "sqlite:///collector.db"
    assert s.api_url == "https://api.github.com"
    assert s.graphql_url == "https://api.github.com/graphql"
    assert s.tokens == ()
    assert s.config_path is None


def test_config_file_in_working_directory_is_picked_up(tmp_path: Path) -> None:
    (tmp_path / "collector.toml").write_text("")
    assert load_settings({}, cwd=tmp_path).config_path == tmp_path / "collector.toml"


def test_github_enterprise_graphql_url() -> None:
    s = load_settings({"GITHUB_API_URL": "https://ghe.example.com/api/v3/"})
    assert s.api_url == "https://ghe.example.com/api/v3"
    assert s.graphql_url == "https://ghe.example.com/api/graphql"
    explicit = load_settings(
        {"GITHUB_API_URL": "http://127.0.0.1:8765", "GITHUB_GRAPHQL_URL": "http://x/gql"}
    )
    assert explicit.graphql_url == "http://x/gql"


def test_postgres_url_uses_psycopg3() -> None:
    s = load_settings({"COLLECTOR_DATABASE_URL": "postgresql://u:pw@h/db"})
    assert s.database_url == "postgresql+psycopg://u:pw@h/db"
    assert "pw" not in repr(s)


def test_tokens_never_show(tmp_path: Path) -> None:
    s = load_settings({"GITHUB_TOKEN": f"{SECRET}, other_token_value"}, cwd=tmp_path)
    assert [t.position for t in s.tokens] == [1, 2]
    assert s.tokens[0].reveal() == SECRET
    for text in (repr(s), str(s), repr(s.tokens), str(s.tokens[0]), f"{s.tokens[1]}"):
        assert SECRET not in text and "other_token_value" not in text


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"GITHUB_TOKEN": "a,,b"}, "GITHUB_TOKEN: entry #2 is empty"),
        ({"GITHUB_API_URL": "ftp://x"}, "GITHUB_API_URL"),
        ({"COLLECTOR_DATABASE_URL": "collector.db"}, "COLLECTOR_DATABASE_URL"),
        ({"COLLECTOR_LOG_FORMAT": "xml"}, "COLLECTOR_LOG_FORMAT"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        load_settings(env)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_token_errors_do_not_echo_the_value() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"GITHUB_TOKEN": f"{SECRET} x"})
    assert SECRET not in str(info.value)


def test_config_parses_groups_schedules_reports(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[groups]\nframeworks = ["tensorflow/tensorflow", "BVLC/caffe"]\nother = ["bvlc/caffe"]\n'
        '[schedules]\ncollect = "30m"\nbackfill = "0 3 * * *"\n'
        '[reports.trends]\noutput = "reports/trends-{date}.html"\nsince = "2017-01"\ngroup = "frameworks"\n'
        'schedule = "1d"\n'
    )
    cfg = load_config(path)
    assert [r.full_name for r in cfg.groups["frameworks"]] == ["tensorflow/tensorflow", "BVLC/caffe"]
    assert len(cfg.all_repos()) == 2  # names compare case-insensitively
    assert cfg.schedules["collect"].interval_seconds == 1800
    assert cfg.schedules["backfill"].cron == "0 3 * * *"
    assert cfg.reports["trends"].options == {"since": "2017-01", "group": "frameworks"}
    assert cfg.reports["trends"].schedule is not None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("groups = [", "not valid TOML"),
        ('[groups]\nx = ["not a repo"]\n', "groups.x"),
        ('[groups]\nx = "a/b"\n', "groups.x"),
        ('[schedules]\ncollect = "sometimes"\n', "schedules.collect"),
        ('[schedules]\ncollect = "99 * * * *"\n', "schedules.collect"),
        ('[reports.r]\nsince = "2017-01"\n', "reports.r.output"),
        ('[reports.r]\noutput = "x.csv"\ngroup = 3\n', "reports.r.group"),
        ("[client]\nconcurrency = 500\n", "client.concurrency"),
        ("[client]\nconcurency = 4\n", "client.concurency"),  # a typo is named, not ignored
        ("[client]\nrest_points_per_minute = -1\n", "client.rest_points_per_minute"),
        ("[bogus]\n", "bogus"),
        # Each section must be a table.
        ("groups = 3\n", "'groups' is 3"),
        ('schedules = "6h"\n', "'schedules'"),
        ("[reports]\nr = 1\n", "'reports.r'"),
        ('[reports.r]\noutput = "x.csv"\nschedule = "often"\n', "reports.r.schedule"),
        ("client = 4\n", "'client'"),
    ],
)
def test_broken_config_names_file_and_key(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message and fragment in message and "\n" not in message


# Each section's keys, as a user mistypes them: the exact line, with the nearest valid key or section, and
# for numbers the one range really accepted.
CLIENT_NAMES = sorted(CONFIG_KEYS)
REPORT_NAMES = sorted(("output", "schedule", *OPTION_KEYS))  # the options of `collector report`
# Other sections and schedules come and go with features: their lists are checked only to begin so.
SECTIONS = "['alerts', 'client', 'groups', "


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[clinet]\n",
            f"unknown section [clinet]; did you mean [client]? expected one of {SECTIONS}",
        ),
        (
            "[metrics]\n",
            f"unknown section [metrics]; expected one of {SECTIONS}",
        ),
        (
            "[client]\nconcurency = 4\n",
            "unknown key 'client.concurency'; did you mean "
            f"'client.concurrency'? expected one of {CLIENT_NAMES}",
        ),
        (
            "[client]\nconcurrency = -1\n",
            "key 'client.concurrency' is -1; expected a whole number from 1 to 100",
        ),
        (
            "[client]\nconcurrency = 0\n",
            "key 'client.concurrency' is 0; expected a whole number from 1 to 100",
        ),
        (
            "[client]\nconcurrency = 101\n",
            "key 'client.concurrency' is 101; expected a whole number from 1 to 100",
        ),
        (
            "[client]\nconcurrency = true\n",
            "key 'client.concurrency' is True; expected a whole number from 1 to 100",
        ),
        ("[client]\ngraphql_batch = 0\n", "key 'client.graphql_batch' is 0; expected a whole number >= 1"),
        ("[client]\nreserve = -5\n", "key 'client.reserve' is -5; expected a whole number >= 0"),
        (
            '[schedules]\ncolect = "6h"\n',
            "unknown key 'schedules.colect'; did you mean "
            "'schedules.collect'? expected one of ['backfill', 'collect', 'discover'",
        ),
        (
            '[server]\nlisten_on = "0.0.0.0:1"\n',
            "unknown key 'server.listen_on'; did you mean 'server.listen'? expected one of [",
        ),
        (
            '[groups.dl]\ntopik = "x"\n',
            "unknown key 'groups.dl.topik'; did you mean 'groups.dl.topic'? "
            "expected one of ['include_archived', 'include_forks', 'min_stars', 'org', 'repos', 'search', "
            "'topic', 'user']",
        ),
        (
            '[reports.w]\noutput = "w.html"\nsinse = "2017-01"\n',
            f"unknown key 'reports.w.sinse'; did you mean 'reports.w.since'? expected one of {REPORT_NAMES}",
        ),
        (
            '[reports.w]\noutput = "w.html"\nsince = "2017-13"\n',
            "key 'reports.w.since': '2017-13' is not a valid month (month must be in 1..12)",
        ),
        (
            '[reports.w]\noutput = "w.html"\nsince = "2017"\n',
            "key 'reports.w.since': '2017' is not a month or day; expected YYYY-MM or YYYY-MM-DD",
        ),
        (
            '[reports.w]\noutput = "w.html"\nat = "2017-02-30"\n',
            "key 'reports.w.at': '2017-02-30' is not a valid day (day is out of range for month)",
        ),
        (
            '[reports.w]\noutput = "w.html"\nsince = 2017-01-01\nuntil = "2016-12"\n',
            "key 'reports.w.since': 2017-01-01 is after until (2016-12-31)",
        ),
        (
            '[reports.w]\noutput = "w.html"\nevery = "day"\n',
            "key 'reports.w.every': 'day' is not valid; expected one of ['week', 'month', 'quarter', 'year']",
        ),
        (
            '[reports.w]\noutput = "w.html"\nmetric = "starz"\n',
            "key 'reports.w.metric': 'starz' is not "
            "valid; expected one of ['stars', 'forks', 'contributors', 'commits', 'downloads']",
        ),
        (
            '[reports.w]\noutput = "w.html"\nformat = "pdf"\n',
            "key 'reports.w.format': 'pdf' is not valid; "
            "expected one of ['table', 'markdown', 'csv', 'json', 'html']",
        ),
        ('[reports.w]\noutput = "w.pdf"\n', "key 'reports.w.output': cannot tell the format from 'w.pdf'"),
        (
            '[reports.w]\noutput = "w.html"\nrepos = ["a b"]\n',
            "key 'reports.w.repos': invalid repository name 'a b'",
        ),
        (
            '[reports.w]\noutput = "w.html"\ntop = 0\n',
            "key 'reports.w.top': 0 is not a positive whole number",
        ),
        (
            '[reports.w]\noutput = "w.html"\ntotals = true\n',
            "key 'reports.w.totals': only a --group report has a group total",
        ),
        (
            '[alerts.a]\nrepos = ["o/a"]\nwebhook_env = "HOOK"\nmilestones = [10]\nmax_mesages = 5\n',
            "unknown key 'alerts.a.max_mesages'; did you mean 'alerts.a.max_messages'? expected one of ",
        ),
        (
            '[reports.w]\noutput = "w.html"\nschedule = "often"\n',
            "reports.w.schedule: 'often' is not a schedule",
        ),
    ],
)
def test_config_keys_answer_in_one_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "collector.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {message}") and "\n" not in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("key", CLIENT_NAMES)
def test_each_client_key_mistyped_is_suggested(tmp_path: Path, key: str) -> None:
    typo = key[:2] + key[3:]  # one letter dropped
    path = tmp_path / "collector.toml"
    path.write_text(f"[client]\n{typo} = 1\n")
    with pytest.raises(ConfigError, match=f"did you mean 'client.{key}'\\?"):
        load_config(path)


def test_a_report_job_may_name_a_group_the_config_does_not_define(tmp_path: Path) -> None:
    # It may be a rule group kept in the store (`repos add --topic ... --group NAME`): the job checks it
    # when it runs (tests/test_cli_errors.py).
    path = tmp_path / "collector.toml"
    path.write_text('[reports.w]\noutput = "w.html"\ngroup = "made-with-repos-add"\n')
    assert load_config(path).reports["w"].options == {"group": "made-with-repos-add"}


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("mysql://u:secret@h/db", "mysql"), ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2")],
)
def test_unsupported_databases_are_refused_when_read(url: str, scheme: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"COLLECTOR_DATABASE_URL": url})
    assert str(info.value) == (
        f"COLLECTOR_DATABASE_URL: {scheme}:// is not supported; collector stores its data in SQLite or "
        "PostgreSQL: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )
    assert "secret" not in str(info.value) and info.value.exit_code == 2


@pytest.mark.parametrize("url", ["host=db user=c password=s3cret dbname=x", "c:s3cret@db/x"])
def test_a_database_setting_that_is_not_a_url_shows_none_of_it(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"COLLECTOR_DATABASE_URL": url})
    assert str(info.value) == (
        "COLLECTOR_DATABASE_URL is not a URL (expected SCHEME://...); use sqlite:///PATH or "
        "postgresql://USER@HOST/DB"
    )
    assert "s3cret" not in str(info.value) and info.value.exit_code == 2


def test_explicit_missing_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", required=True)


def test_schedule_shorthands() -> None:
    assert parse_schedule("6h", "x").interval_seconds == 21600
    assert parse_schedule("*/5 * * * *", "x").cron == "*/5 * * * *"


@pytest.mark.parametrize(
    "name", ["tensorflow/tensorflow", "keras-team/keras", "a/b.c_d-e", "Theano/Theano", "x/.github"]
)
def test_valid_repo_names(name: str) -> None:
    assert parse_repo_name(name).full_name == name


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "a/b/c",
        "a/..",
        "a/b..c",
        "../b",
        "a/%2e%2e",
        "a b/c",
        "a/b ",
        "a/b\n",
        "a/\x00b",
        "",
        "/b",
        "a_b/c",
    ],
)
def test_invalid_repo_names(name: str) -> None:
    with pytest.raises(InvalidRepoName):
        parse_repo_name(name)


def test_week_start_is_sunday() -> None:
    from datetime import date

    assert week_start(date(2017, 1, 1)) == date(2017, 1, 1)  # a Sunday
    assert week_start(date(2017, 1, 7)) == date(2017, 1, 1)  # Saturday
    assert week_start(date(2017, 1, 3)) == date(2017, 1, 1)
    assert week_start(date(2017, 1, 8)) == date(2017, 1, 8)


def test_the_example_config_and_the_readme_config_load(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    example = load_config(root / "collector.toml.example", required=True)
    assert example.groups and example.client["concurrency"] == 4
    # The README's config block documents every [client] option: it must be a valid config as written.
    readme = (root / "README.md").read_text(encoding="utf-8")
    documented = tmp_path / "readme.toml"
    documented.write_text(readme.split("```toml", 1)[1].split("```", 1)[0], encoding="utf-8")
    config = load_config(documented, required=True)
    assert set(config.client) == {
        "concurrency",
        "reserve",
        "graphql_batch",
        "rest_points_per_minute",
        "graphql_points_per_minute",
        "search_requests_per_minute",
    }
