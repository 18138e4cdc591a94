"""geoland's web UI (Flask app, review pages, Folium maps with vendored Leaflet).

Not built yet: it arrives with the review-maps issue. It will use only the ``geoland`` package."""
