"""geoland's web app: Flask blueprints for the pages, the JSON API and the login, over the ``geoland`` package.

Thin by design: every route parses its parameters, calls one function of ``geoland.review`` and renders
the result. No SQL and no Folium here; the ``geoland serve`` command is registered from ``web.cli``.
"""
