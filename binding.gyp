{
  "targets": [
    {
      "target_name": "pmon3_native",
      "sources": ["internal/native/native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wunused-parameter", "-Werror"]
    },
    {
      "target_name": "pmon3-exec",
      "type": "executable",
      "sources": ["internal/native/exec.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wunused-parameter", "-Werror"],
      "ldflags": ["<!@(python3 internal/native/static-flag.py)"]
    },
    {
      "target_name": "pmon3-log",
      "type": "executable",
      "sources": ["internal/native/log.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wunused-parameter", "-Werror"],
      "ldflags": ["<!@(python3 internal/native/static-flag.py)"],
      "libraries": ["-lz"]
    }
  ]
}
