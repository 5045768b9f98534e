/**
 * The floor of the product's framework here: Express (the API's version and settings) parsing the
 * JSON body with its own parser and answering 202, doing nothing else: no validation, no database,
 * no logging, no security headers. The API cannot be cheaper per request than this; the ingest
 * report sets both against the bare node:http ceiling. Run as its own process, like the API.
 */
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: '16kb' }));
app.post('/', (req, res) => {
  const body = req.body as { transaction_id?: unknown };
  res.status(202).json({ transaction_id: body.transaction_id, status: 'PROCESSING' });
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(
    JSON.stringify({
      message: 'express floor listening',
      port: typeof address === 'object' ? address?.port : 0,
    }),
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
