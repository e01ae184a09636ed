"""The side-by-side human preference study of Walker et al. 2021 §5.2 (Table 1) as a web app: ``create.py``
makes the videos and the database, ``store.py`` is the database, ``app.py`` the rating page and its API,
``results.py`` the table, intervals and agreement."""
