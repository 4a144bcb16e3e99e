"""Explain jobs: explanations of up to ``SHAPSERVE_MAX_JOB_ROWS`` rows that outlive a request.

``manager.JobManager`` (one per worker: queue, job processes, statuses) is what the routes call;
``process`` is what runs in a job process; ``store`` is the jobs directory the workers share.  This
package module imports nothing, so a job process loads only ``process`` and what it needs.
"""
