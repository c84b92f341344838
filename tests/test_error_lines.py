"""The one line a failure is shown by, wherever it is shown: a job's run and log, the command's stderr, the
HTTP reply. Store errors show the driver's first line, never the SQL or its parameters."""

from __future__ import annotations

from sqlalchemy.exc import DataError, OperationalError

from collector.cli import store_failure
from collector.errors import CollectorError, StoreReadOnly, StoreUnavailable
from collector.jobs.outages import describe_failure, first_line
from collector.service.http import Reply, _guarded

SQL, PARAMS = "INSERT INTO x VALUES (%(v)s)", {"v": "secret-ish"}


def test_the_line_is_the_drivers_first_then_the_messages_then_the_kind() -> None:
    refused = DataError(SQL, PARAMS, Exception("value too long for type character varying(80)\nDETAIL: x"))
    assert first_line(refused) == "value too long for type character varying(80)"
    assert first_line(DataError(SQL, PARAMS, Exception(" \n"))) == "DataError"
    assert first_line(ValueError("--since: no such month\nmore")) == "--since: no such month"
    assert first_line(ValueError("")) == "ValueError"


def test_a_job_names_a_store_failure_as_an_outage_or_a_refusal() -> None:
    down = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused\nIs it running?"))
    assert describe_failure(down) == "the store is unreachable (connection refused)"
    blank = DataError(SQL, PARAMS, Exception(""))
    assert describe_failure(blank) == "the store refused it (Exception: DataError)"
    assert describe_failure(RuntimeError("")) == "RuntimeError"


def test_a_command_names_a_store_failure_and_what_to_do() -> None:
    down = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly\nmore"))
    assert store_failure(down) == (
        "the database failed (server closed the connection unexpectedly); check that it is running and retry",
        StoreUnavailable.exit_code,
    )
    readonly = OperationalError("INSERT ...", {}, Exception("attempt to write a readonly database"))
    assert store_failure(readonly) == (
        "the store refused a write (attempt to write a readonly database); make the database file and its "
        "directory writable by this user, or point COLLECTOR_DATABASE_URL at a store it may write",
        StoreReadOnly.exit_code,
    )
    assert store_failure(OperationalError("SELECT 1", {}, None)) == (
        "the database failed (connection failed); check that it is running and retry",
        StoreUnavailable.exit_code,
    )


def test_a_request_the_service_refuses_is_answered_with_the_first_line() -> None:
    def refuse(path: object, query: object) -> Reply:
        raise CollectorError("group 'x' is not in the config or the store\nknown: a, b")

    reply = _guarded(refuse, {}, {}, "badge")
    assert (reply.status, reply.body) == (400, b"badge: group 'x' is not in the config or the store\n")
