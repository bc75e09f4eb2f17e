"""A pytest plugin: why tests were skipped, one line per reason at the end of the run with how many it

skipped (torch not installed, --runslow not given, …). tests/conftest.py loads it."""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.section("skipped, and why")
        for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{n:4d}  {reason}")
