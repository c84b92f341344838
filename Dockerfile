# The collector image: the package and its migrations; runs the daemon by default.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 1000 collector && mkdir -p /app/reports && chown collector /app/reports
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
