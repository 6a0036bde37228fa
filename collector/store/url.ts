// Which engine a `store:` value selects. Kept apart from index.ts so configuration checks can use it
// without loading the database drivers.

/** postgres:// or postgresql:// selects PostgreSQL (cluster mode); anything else must be "sqlite". */
export const isPostgresUrl = (url: string | undefined): url is string => !!url && /^postgres(ql)?:\/\//.test(url);
