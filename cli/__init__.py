"""The ``shapserve`` command line: calls the engine (``scorers``); ``cli.bento`` is the one module that
talks to BentoML (model store, build, serve)."""
