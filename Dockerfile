# The collector image: the package and its migrations; runs the daemon by default.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY collector ./collector
COPY migrations ./migrations
RUN pip install . && useradd --create-home collector && mkdir -p /app/reports && chown collector /app/reports
USER collector
CMD ["sh", "-c", "collector db upgrade && exec collector daemon"]
