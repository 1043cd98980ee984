"""Load a YAML config through Hydra's compose API, validate it once, create the run directory.

    loaded = load_config("configs/quickstart.yaml", overrides=["training.epochs=3"])
    loaded.cfg.training.epochs   # 3: a typed `ReidConfig`
    loaded.run.root              # the run directory, with config.yaml written in it

Every problem becomes a `ConfigError` (exit code 2) with one line naming the file, the key,
the value and what is allowed: Hydra's composition and override-parsing errors included.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from toolchain.config.schema import ReidConfig, _UnknownKeys
from toolchain.errors import ConfigError
from toolchain.rundir import RunDir

#: `${NAME}`: a top-level key, else the environment variable (the seed's `${MODELS_DIR}`).
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_RUN_DIR = "experiments_outputs/${now:%Y_%m_%d_%H_%M_%S}"


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and the run directory it writes into.

    Attributes:
        cfg: the typed configuration.
        run: the run directory (created, with config.yaml).
        raw: the resolved configuration as plain data (what config.yaml holds).
        source: the YAML file it came from.
    """

    cfg: ReidConfig
    run: RunDir
    raw: dict[str, Any]
    source: Path


def load_config(
    config_file: str | os.PathLike | None = None,
    *,
    config_path: str | os.PathLike | None = None,
    config_name: str | None = None,
    overrides: Sequence[str] = (),
    operation_mode: str | None = None,
    create_run_dir: bool = True,
) -> LoadedConfig:
    """Compose, resolve and validate a config; create its run directory.

    Args:
        config_file: a YAML file (or give config_path + config_name, as `reidtool run` does).
        overrides: Hydra overrides (`key=v`, `+key=v`, `++key=v`, `~key`).
        operation_mode: forces the mode (`reidtool train` = run with operation_mode training).
        create_run_dir: create the run directory and write config.yaml into it.

    Raises:
        ConfigError: the file is missing or not YAML, an override does not parse, a key is
            unknown, a value has the wrong type or range, a mandatory key is missing.
    """
    source = _source_file(config_file, config_path, config_name)
    overrides = list(overrides)
    if operation_mode is not None:
        overrides.append(f"++operation_mode={operation_mode}")
    composed = _compose(source, overrides)
    raw = _resolve(composed, source)
    cfg = validate(raw, source)
    run = RunDir(
        Path(cfg.hydra.run.dir),
        logs_name=cfg.general.logs_dir,
        saved_models_name=cfg.general.saved_models_dir,
        quantized_models_name=cfg.quantization.export_dir,
    )
    if create_run_dir:
        run.create()
        run.config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return LoadedConfig(cfg=cfg, run=run, raw=raw, source=source)


def validate(raw: dict[str, Any], source: str | os.PathLike = "<config>") -> ReidConfig:
    """A `ReidConfig` from plain data; errors become one-line `ConfigError`s."""
    try:
        return ReidConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"{source}: {format_validation_error(err, raw)}") from None


# --------------------------------------------------------------------------- composition


def _source_file(config_file, config_path, config_name) -> Path:
    if config_file is not None:
        path = Path(config_file)
    elif config_name is not None:
        path = Path(config_path or ".") / config_name
        if not path.suffix:
            path = path.with_suffix(".yaml")
    else:
        raise ConfigError(
            "no configuration given: pass FILE.yaml or --config-path DIR --config-name NAME.yaml"
        )
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist")
    return path.resolve()


def _compose(source: Path, overrides: list[str]):
    """Hydra compose (hydra config included, so `${now:...}` in hydra.run.dir resolves)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    _check_yaml(source)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(source.parent), version_base="1.3"):
            cfg = compose(
                config_name=source.name,
                overrides=_hydra_overrides(source, overrides),
                return_hydra_config=True,
            )
    except Exception as err:  # Hydra's composition and override-parse errors
        struct = re.search(r"Could not override '([\w.]+)'", str(err))
        if struct:  # `key=v` for a key the file does not have
            section, _, key = struct.group(1).rpartition(".")
            message = (
                _unknown_key_message(section, key) + f" (to add a key use +{struct.group(1)}=...)"
            )
            raise ConfigError(f"{source}: {message}") from None
        raise ConfigError(f"{source}: {_one_line(err)}") from None
    finally:
        GlobalHydra.instance().clear()
    OmegaConf.set_struct(cfg, False)
    return cfg


def _schema_key(dotted: str) -> bool:
    """True when `dotted` names a key of the schema (sections and their keys)."""
    model: type[BaseModel] | None = ReidConfig
    for part in dotted.split("."):
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return False
        ann = field.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return True


def _hydra_overrides(source: Path, overrides: list[str]) -> list[str]:
    """`key=v` for a schema key the file leaves out (or empty) sets it, as `++key=v` would; the
    default run directory is reidtool's, unless the file or an override sets one."""
    overrides = [
        f"++{o}" if o[:1] not in "+~" and "=" in o and _schema_key(o.split("=", 1)[0]) else o
        for o in overrides
    ]
    text = yaml.safe_load(source.read_text()) or {}
    has_dir = (
        isinstance(text, dict)
        and isinstance(text.get("hydra"), dict)
        and ((text["hydra"].get("run") or {}).get("dir"))
    )
    if has_dir or any(o.lstrip("+").startswith("hydra.") for o in overrides):
        return overrides
    return [f"hydra.run.dir={DEFAULT_RUN_DIR}", *overrides]


def _check_yaml(source: Path) -> None:
    try:
        data = yaml.safe_load(source.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not valid YAML: {_one_line(err)}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{source} cannot be read: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, found {type(data).__name__}")


def _resolve(cfg, source: Path) -> dict[str, Any]:
    """Plain data with every interpolation resolved; `${NAME}` falls back to the environment."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    run_dir = cfg.hydra.run.dir  # resolves ${now:...} while Hydra's config is attached
    user = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    injected = _inject_environment(user, source)
    try:
        raw = OmegaConf.to_container(user, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{source}: {_one_line(err)}") from None
    for name in injected:
        raw.pop(name, None)
    hydra = dict(_user_hydra(source) or {})
    hydra["run"] = {**(hydra.get("run") or {}), "dir": str(run_dir)}
    raw["hydra"] = hydra
    return raw


def _user_hydra(source: Path) -> dict[str, Any] | None:
    data = yaml.safe_load(source.read_text()) or {}
    hydra = data.get("hydra") if isinstance(data, dict) else None
    return {k: v for k, v in hydra.items() if k == "run"} if isinstance(hydra, dict) else None


def _inject_environment(cfg, source: Path) -> list[str]:
    """Add NAME from the environment for every `${NAME}` that is not a top-level key."""
    names: set[str] = set()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{where}.{key}" if where else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")
        elif isinstance(node, str):
            for name in _VARIABLE.findall(node):
                if name in cfg:
                    continue
                if name not in os.environ:
                    raise ConfigError(
                        f"{source}: {where} uses ${{{name}}}, but there is no top-level key {name} "
                        f"and no environment variable {name}"
                    )
                names.add(name)

    from omegaconf import OmegaConf

    walk(OmegaConf.to_container(cfg, resolve=False), "")
    for name in names:
        cfg[name] = os.environ[name]
    return sorted(names)


# --------------------------------------------------------------------------- error messages


def format_validation_error(err: ValidationError, raw: dict[str, Any]) -> str:
    """One line per problem, joined with '; ': key, value received, what is allowed."""
    parts = []
    for item in err.errors(include_url=False):
        loc = [str(p) for p in item["loc"]]
        key = ".".join(loc)
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, _UnknownKeys):
            parts.extend(_unknown_key_message(section, name) for section, name in cause.keys)
        elif item["type"] == "extra_forbidden":
            parts.append(_unknown_key_message(".".join(loc[:-1]), loc[-1]))
        elif item["type"] == "missing":
            parts.append(f"missing mandatory key {key}")
        elif item["type"] == "value_error":
            parts.append(item["msg"].removeprefix("Value error, "))
        else:
            parts.append(f"{key}: {item['input']!r} is not allowed: {_lower_first(item['msg'])}")
    return "; ".join(parts)


def _unknown_key_message(section: str, key: str) -> str:
    if section:
        model: type[BaseModel] | None = ReidConfig
        for part in section.split("."):
            field = model.model_fields.get(part) if model else None
            ann = field.annotation if field else None
            model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        valid = sorted(model.model_fields) if model else []
    else:
        valid = sorted(ReidConfig.model_fields)
    full = f"{section}.{key}" if section else key
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {section + '.' if section else ''}{close[0]}?)" if close else ""
    where = f"in {section}" if section else "at the top level"
    return f"unknown key {full}{hint}; valid keys {where}: {', '.join(valid)}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    cause = err.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({' '.join(str(cause).split())})"
    return text or type(err).__name__
