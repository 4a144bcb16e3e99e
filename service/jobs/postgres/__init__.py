"""Explain jobs on PostgreSQL, for servers that share one database (``SHAPSERVE_JOBS_URL``, or a
PostgreSQL ``SHAPSERVE_STORE_URL``): ``manager`` (the routes' side and the runner), ``queue``
(pgqueuer: claims, leases, cancellation, hand-back) and ``tables`` (statuses, bodies, result slices).
"""
