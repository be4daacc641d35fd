/* What the examples of docs/mongodb.md take as given: a pool m. */
roster_mongodb *m;
