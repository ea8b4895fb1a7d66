# signals: see accounts feature work
