# The collector image: the package and its migrations; runs the daemon by default.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# reports/ belongs to the image's user, so a new named volume mounted there does too (compose does that).
# The config is /config/collector.toml through the link the collector looks for in its working directory:
# compose mounts a directory at /config, and without the file the link leads nowhere, which the collector
# takes for no config (a bind mount of a missing file would make docker create a directory in its place).
RUN useradd --create-home --uid 1000 collector && mkdir -p /app/reports /config && chown collector /app/reports \
    && ln -s /config/collector.toml /app/collector.toml
# The dependencies and the build backend first, from pyproject.toml alone: a change to the code then rebuilds
# only the layers below, in seconds rather than the minute the dependencies take.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); \
print(*p['project']['dependencies'], *p['build-system']['requires'], sep='\n')" >/tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY README.md alembic.ini ./
COPY collector ./collector
COPY migrations ./migrations
RUN pip install --no-deps --no-build-isolation .
USER collector
EXPOSE 8080
CMD ["sh", "-c", "collector db upgrade && exec collector daemon --listen 0.0.0.0:8080"]
