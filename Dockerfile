FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BULWARK_VAR_DIR=/app/var
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --home /app bulwark && mkdir -p var anchors && chown -R bulwark var anchors \
 && SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput
USER bulwark
EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn_conf.py", "config.wsgi:application"]
