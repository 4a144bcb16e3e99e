"""The dashboard served with the model (``GET /dashboard``): static page and scripts (``static/``), and
the Python that feeds its tabs from the loaded model: the data sets (``sources``), their columns
(``table``), cohorts, metrics and each tab's aggregation or sample (``views``).  The routes are in
``service/routes/dashboard.py``; docs/dashboard.md describes the page.
"""
