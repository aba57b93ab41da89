"""Read the configuration file: TOML → ProbeConfig, with every problem as one ConfigError line.

A ConfigError names the file and the key ("config.toml: schedule[1].cron: ..."), so a wrong
configuration stops the daemon at start with one clear message instead of failing at 3 a.m. Paths in
the file are relative to the file's own directory. Lists and categories are checked here, against the
disk and the category legend; nothing here measures or schedules.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from probe.config.model import ProbeConfig, check_measure
from probe.errors import ConfigError, InputError
from probe.i18n import _
from probe.store.store import DEFAULT_STORE

CONFIG_NAME = "config.toml"
STORE_NAME = "probe.sqlite"


def default_config_path() -> Path:
    """$XDG_CONFIG_HOME/probe/config.toml (else ~/.config/probe/config.toml)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "probe" / CONFIG_NAME


def default_store_path() -> Path:
    """Where the daemon keeps evidence when the file does not say: systemd's StateDirectory, else XDG."""
    state = os.environ.get("STATE_DIRECTORY")  # set by systemd for StateDirectory=probe
    if state:
        return Path(state.split(":")[0]) / STORE_NAME
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "probe" / STORE_NAME


def default_store(config_path: Path | None = None) -> Path:
    """The store a command uses when not told (`--store`): the daemon's, that is the configuration
    file's (`config_path`, else $PROBE_CONFIG, else the default place), when there is such a file;
    else `results/probe.sqlite`, the folder a volunteer who runs the probe by hand shares. So `probe
    run`, `probe results`, `probe export`, `probe status` and the daemon all mean the same store."""
    explicit = config_path or (Path(os.environ["PROBE_CONFIG"]) if os.environ.get("PROBE_CONFIG") else None)
    if explicit is None and not default_config_path().exists():
        return DEFAULT_STORE
    store = load_config(explicit, check_files=False).store
    assert store is not None  # the loader fills it in
    return store


def load_config(path: Path | None = None, *, check_files: bool = True) -> ProbeConfig:
    """The validated configuration in `path` (default: `default_config_path()`), paths made absolute."""
    path = path or default_config_path()
    raw = _read(path)
    try:
        config = ProbeConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe(exc)}") from exc
    try:
        check_measure(config.measure)
    except ValueError as exc:
        raise ConfigError(f"{path}: measure.{exc}") from exc
    config = _absolute_paths(config, path.parent)
    if check_files:
        _check_files(config, path)
    return config


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(_("no configuration file at {path}").format(path=path),
                          hint=_("copy deploy/config.example.toml there (see docs/configuration.md), "
                                 "or pass --config PATH")) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(_("cannot read the configuration file {path}: {problem}").format(path=path,
                                                                                           problem=exc)) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{path}: not valid TOML: {problem}").format(path=path, problem=exc)) from exc
    except RecursionError as exc:  # tomllib recurses once per nested array or table
        raise ConfigError(_("{path}: not valid TOML: arrays or tables nested too deeply").format(path=path)) from exc


def describe(exc: ValidationError) -> str:
    """Pydantic's errors as "key.path: problem"; up to three, then how many more."""
    problems = []
    for error in exc.errors():
        where = _location(error["loc"])
        if error["type"] == "extra_forbidden":
            message = "unknown key" + _allowed_hint(error["loc"])
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _allowed_hint(loc: tuple[int | str, ...]) -> str:
    """The keys that table does accept, so a typo is easy to fix."""
    from pydantic import BaseModel

    model: Any = ProbeConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return ""
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return ""
    return f" (known keys: {', '.join(sorted(model.model_fields))})"


def _absolute_paths(config: ProbeConfig, base: Path) -> ProbeConfig:
    """Relative paths in the file mean relative to the file; `~` means the user's home."""
    def fix(value: Path | None) -> Path | None:
        if value is None:
            return None
        value = value.expanduser()
        return value if value.is_absolute() else (base / value).resolve()

    measure = config.measure.model_copy(update={
        "ca_bundle": fix(config.measure.ca_bundle), "asn_db": fix(config.measure.asn_db),
        "fingerprints_dir": fix(config.measure.fingerprints_dir)})
    schedule = [e.model_copy(update={"list": _list_ref(e.list, base)}) for e in config.schedule]
    return config.model_copy(update={
        "store": fix(config.store) or default_store_path(), "key": fix(config.key), "measure": measure,
        "schedule": schedule})


def _list_ref(value: str, base: Path) -> str:
    """A path-like list reference relative to the config file; a bare name stays a shipped list name."""
    if "/" not in value and not value.endswith((".csv", ".txt")):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _check_files(config: ProbeConfig, path: Path) -> None:
    """Every enabled schedule's list exists and its categories are known: one message at start."""
    from probe.targets import parse_categories, resolve_list

    for index, entry in enumerate(config.schedule):
        if not entry.enabled:
            continue  # checked when it is enabled (and the daemon reloads or restarts)
        try:
            resolve_list(entry.list)
            if entry.category is not None:
                parse_categories(entry.category)
        except InputError as exc:
            raise ConfigError(f"{path}: schedule[{index}] ({entry.key}): {exc}") from exc
    for name in ("ca_bundle", "asn_db"):
        value = getattr(config.measure, name)
        if value is not None and not value.is_file():
            raise ConfigError(_("{path}: {key}: no such file {file}").format(path=path, key=f"measure.{name}",
                                                                             file=value))
    folder = config.measure.fingerprints_dir
    if folder is not None and not folder.is_dir():
        raise ConfigError(_("{path}: {key}: {folder} is not a folder").format(
            path=path, key="measure.fingerprints_dir", folder=folder),
            hint=_("give a folder of OONI-format fingerprint CSV files, or remove the key"))
    _check_store_path(config, path)
    if config.key is not None and not config.key.is_file():
        raise ConfigError(_("{path}: key: no key file at {file}").format(path=path, file=config.key),
                          hint=_("run `probe init` to make one"))


def _check_store_path(config: ProbeConfig, path: Path) -> None:
    """The store must be a file (or not exist yet) in a folder: `store = "/etc"` is one line now.

    The file itself is never opened here: the daemon re-reads the configuration on SIGHUP while its
    own connection holds the store, and closing any other descriptor of that file would drop SQLite's
    POSIX locks (another process could then checkpoint and delete the WAL under it). A file that is
    not a store is named by `Store.open` at start instead.
    """
    store = config.store
    assert store is not None
    if store.is_dir():
        raise ConfigError(_("{path}: store: {store} is a folder; give a file in it, e.g. {example}").format(
            path=path, store=store, example=store / STORE_NAME))
    if store.parent.exists() and not store.parent.is_dir():
        raise ConfigError(_("{path}: {key}: {folder} is not a folder").format(path=path, key="store",
                                                                             folder=store.parent))
