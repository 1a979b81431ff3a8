# Prints -static when a static libc is installed (libc.a), else nothing: pmon3-exec linked
# statically saves the dynamic loader's work at every spawn (about 0.25 ms measured); without
# libc.a (e.g. glibc-static missing) it is linked dynamically and works the same.
import os
import subprocess

try:
    path = subprocess.run(["cc", "-print-file-name=libc.a"], capture_output=True, text=True, check=False).stdout.strip()
except OSError:
    path = ""
print("-static" if os.path.isabs(path) and os.path.exists(path) else "")
