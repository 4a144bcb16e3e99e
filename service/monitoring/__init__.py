"""The drift monitor of a served model (docs/monitoring.md): each worker counts its explained rows
(``scorers.monitoring.Monitor``), writes its windows to a file in a directory the server's workers
share (``workers.py``), and ``GET /monitoring`` and ``/metrics`` report the sum over the live workers."""
