"""Names of the Airflow Assets that link the DAGs (plain strings: pipeline never imports Airflow).

An event on NEW_ARTICLES means "new articles were indexed into news-articles".
"""

NEW_ARTICLES_NAME = "newsmon_new_articles"
NEW_ARTICLES_URI = "newsmon://news-articles"
