# The collector image: the package and its migrations; runs the daemon by default.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY collector ./collector
COPY migrations ./migrations
RUN pip install . && useradd --create-home --uid 1000 collector && mkdir -p /app/reports && chown collector /app/reports
USER collector
EXPOSE 8080
CMD ["sh", "-c", "collector db upgrade && exec collector daemon --listen 0.0.0.0:8080"]
