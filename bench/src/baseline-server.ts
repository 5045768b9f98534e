/**
 * The ceiling of one Node.js process here: a bare node:http server that reads the body and answers
 * 202 with a small JSON, doing nothing else. Run as its own process, like the API.
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end('{"status":"PROCESSING"}');
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(
    JSON.stringify({ message: 'baseline listening', port: typeof address === 'object' ? address?.port : 0 }),
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
