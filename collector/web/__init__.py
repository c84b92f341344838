"""The web app: Starlette routes for the service endpoints, the JSON API and the HTML pages, built in
`collector.web.app.build_app` and served by uvicorn (`collector serve`, `collector daemon`)."""
