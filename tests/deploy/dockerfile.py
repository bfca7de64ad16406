"""Just enough of the Dockerfile and .dockerignore formats to check our own files without Docker."""
from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    keyword: str  # upper case
    args: str  # the rest, continuation lines joined

    def exec_form(self) -> list[str]:
        """The JSON array form (CMD ["a", "b"]); a shell form becomes ["/bin/sh", "-c", ...]."""
        text = self.args.strip()
        return json.loads(text) if text.startswith("[") else ["/bin/sh", "-c", text]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for token in shlex.split(instruction.args):
                name, _, value = token.partition("=")
                values[name] = value
        return values

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """(options, command) of the stage's last HEALTHCHECK."""
        text = self.all("HEALTHCHECK")[-1].args
        options = dict(re.findall(r"--([a-z-]+)=(\S+)", text))
        command = text[text.index("CMD") + 3:].strip()
        return options, json.loads(command)


@dataclass
class Dockerfile:
    path: Path
    args: dict[str, str]  # ARGs before the first FROM, with defaults
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def text(self) -> str:
        return self.path.read_text()


def parse(path: Path) -> Dockerfile:
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments and blank lines, also inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{path}: dangling line continuation"

    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        instruction = Instruction(keyword.upper(), rest.strip())
        if instruction.keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages:
            assert instruction.keyword == "ARG", f"{path}: {line!r} before FROM"
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(path, args, stages)


def copy_sources(stage: Stage) -> list[tuple[str, str]]:
    """(source, destination) of each COPY from the build context (not --from another stage)."""
    pairs = []
    for instruction in stage.all("COPY"):
        words = [w for w in instruction.args.split() if not w.startswith("--chown") and not w.startswith("--chmod")]
        if any(w.startswith("--from") for w in words):
            continue
        *sources, destination = words
        pairs += [(source, destination) for source in sources]
    return pairs


def dockerignore_admits(patterns_file: Path, path: str) -> bool:
    """Whether `path` (relative, '/'-separated) reaches the build context: the last pattern that
    matches it or one of its parent directories decides, `!` patterns re-admit."""
    patterns = []
    for raw in patterns_file.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            patterns.append((line.startswith("!"), line.lstrip("!").rstrip("/")))
    parts = path.strip("/").split("/")
    admitted = True
    for depth in range(1, len(parts) + 1):
        candidate = "/".join(parts[:depth])
        for negated, pattern in patterns:
            if _matches(pattern, candidate):
                admitted = negated
        if not admitted:
            return False  # an excluded directory takes everything below it (we re-admit nothing deeper)
    return admitted


def _matches(pattern: str, path: str) -> bool:
    if pattern.startswith("**/"):
        rest = pattern[3:]
        return any(_matches(rest, "/".join(path.split("/")[i:])) for i in range(len(path.split("/"))))
    if pattern.count("/") != path.count("/"):
        return False
    return fnmatch.fnmatchcase(path, pattern)
