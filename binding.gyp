{
  "targets": [
    {
      "target_name": "peercred",
      "sources": ["internal/peercred/peercred.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
