"""The scheduled probe: APScheduler wiring (jobs, jitter, misfire policy), no measurement logic.

Modules: cron (crontab expressions → triggers), triggers (jitter, periods, next fire times), plan (what
to continue or catch up at start), network (pre-flight check and backoff), jobs (one guarded run of
one list), daemon (the scheduler's lifecycle: start, SIGHUP reload, SIGTERM stop), state (lock and
state files), status (what `probe status` reports), retention (artifact pruning by age).
Measuring a list is injected by the CLI (`probe.cli.daemon`); nothing here opens the store's
measurements for writing except through the runner that is handed in, and `prune_artifacts`.
"""
