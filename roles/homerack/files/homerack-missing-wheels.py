"""Print the requirements the target needs that the wheelhouse lacks, one per line.

pip download evaluates environment markers against the controller's Python, not
--python-version (e.g. redis needs async-timeout on python_full_version < 3.11.3,
which Debian 12's 3.11.2 is). This walks the dependency tree from the app wheel with
the target's marker environment and names what is missing.

    python homerack-missing-wheels.py WHEELDIR ROOT_NAME PY_FULL_VERSION ARCH
"""

import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename

wheel_dir, root, full_version, arch = sys.argv[1:5]
env = {
    "python_version": ".".join(full_version.split(".")[:2]),
    "python_full_version": full_version,
    "implementation_name": "cpython",
    "implementation_version": full_version,
    "platform_python_implementation": "CPython",
    "platform_machine": arch,
    "platform_system": "Linux",
    "sys_platform": "linux",
    "os_name": "posix",
}

metadata = {}
for wheel in Path(wheel_dir).glob("*.whl"):
    name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata[name] = HeaderParser().parsestr(zf.read(meta).decode("utf-8"))

missing, seen = set(), set()
todo = [(canonicalize_name(root), frozenset())]
while todo:
    name, extras = todo.pop()
    if (name, extras) in seen:
        continue
    seen.add((name, extras))
    if name not in metadata:
        continue
    for line in metadata[name].get_all("Requires-Dist") or []:
        req = Requirement(line)
        wanted = req.marker is None or any(
            req.marker.evaluate({**env, "extra": extra}) for extra in ("", *extras)
        )
        if not wanted:
            continue
        dep = canonicalize_name(req.name)
        if dep not in metadata:
            missing.add(f"{req.name}{req.specifier}")
        todo.append((dep, frozenset(req.extras)))

print("\n".join(sorted(missing)))
