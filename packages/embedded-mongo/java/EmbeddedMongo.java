import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import de.bwaldvogel.mongo.wire.message.MongoQuery;
import io.netty.channel.Channel;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs mongo-java-server as a local MongoDB wire-protocol server for development and tests.
 *
 * Usage: java -cp 'jars/*' EmbeddedMongo.java [--port N] [--backend memory|h2] [--h2-file PATH]
 *                                            [--exit-on-stdin-eof] [--enable-fault-injection]
 *
 * --enable-fault-injection (tests only, never by default) accepts MongoDB's own test command
 * {configureFailPoint: 'failCommand', ...} on the admin database, so a test can make this real
 * server process answer with an error code, a writeConcernError, a late reply or no reply at all,
 * through the real driver and wire protocol (see FaultInjectingBackend below).
 *
 * Prints one line "EMBEDDED_MONGO_URL=mongodb://127.0.0.1:PORT" once it listens, so a parent
 * process can read the address. With --exit-on-stdin-eof it stops when its parent goes away.
 */
public class EmbeddedMongo {
  public static void main(String[] args) throws Exception {
    int port = 0;
    String backendName = "memory";
    String h2File = null;
    boolean exitOnStdinEof = false;
    boolean faultInjection = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--backend" -> backendName = args[++i];
        case "--h2-file" -> h2File = args[++i];
        case "--exit-on-stdin-eof" -> exitOnStdinEof = true;
        case "--enable-fault-injection" -> faultInjection = true;
        default -> {
          System.err.println("EmbeddedMongo: unknown argument " + args[i]);
          System.exit(2);
        }
      }
    }

    MongoBackend backend;
    switch (backendName) {
      case "memory" -> backend = new MemoryBackend();
      case "h2" -> backend = h2File == null ? H2Backend.inMemory() : new H2Backend(h2File);
      default -> {
        System.err.println("EmbeddedMongo: --backend must be memory or h2");
        System.exit(2);
        return;
      }
    }
    // The Node.js driver 7 needs a modern wire version; 5.0 is the newest this server speaks.
    backend.version(ServerVersion.MONGO_5_0);
    if (faultInjection) backend = new FaultInjectingBackend(backend);

    MongoServer server = new MongoServer(backend);
    // Replies are computed on the network threads: with fault injection, more of them, so that a
    // reply held back on purpose rarely holds up another connection (such as the one clearing it).
    server.bind(new InetSocketAddress("127.0.0.1", port), 1, faultInjection ? 32 : 0);
    InetSocketAddress address = server.getLocalAddress();
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));

    System.out.println("EMBEDDED_MONGO_URL=mongodb://127.0.0.1:" + address.getPort());
    System.out.println("embedded MongoDB stand-in (mongo-java-server 1.47.0, " + backendName
        + " backend" + (faultInjection ? ", fault injection ON" : "") + ") listening on mongodb://127.0.0.1:" + address.getPort());
    System.out.flush();

    if (exitOnStdinEof) {
      InputStream in = System.in;
      while (in.read() != -1) {
        // drain until the parent closes our stdin
      }
      System.exit(0);
    }
    Thread.currentThread().join();
  }
}

/**
 * Delegates to the real backend, except where a test configured a fault with the subset of
 * MongoDB's `failCommand` fail point that the driver specifications' own tests use, so the same
 * test runs against mongod started with --setParameter enableTestCommands=1:
 *
 *   db.admin().command({configureFailPoint: 'failCommand',
 *     mode: 'alwaysOn' | 'off' | {times: N},
 *     data: {failCommands: ['insert', ...],     // command names (first key of the command)
 *            appName: 'x',                      // optional: only connections with this appName
 *            errorCode: 50,                     // answer {ok: 0, code} without running the command
 *            writeConcernError: {code, codeName, errmsg, errInfo}, // run it, then append this
 *            blockConnection: true, blockTimeMS: 500,              // answer late (or never, if
 *            closeConnection: true}})                              // the client gives up first)
 *
 * Replies are computed on the server's network thread, so a blocked reply holds that thread.
 */
class FaultInjectingBackend implements MongoBackend {
  private final MongoBackend delegate;
  /** appName each connection announced in its handshake (client.application.name). */
  private final Map<Channel, String> appNames = new ConcurrentHashMap<>();
  private Fault fault;

  private record Fault(Set<String> commands, String appName, Integer errorCode, Document writeConcernError,
                       long blockTimeMs, boolean closeConnection, int remaining) {}

  FaultInjectingBackend(MongoBackend delegate) {
    this.delegate = delegate;
  }

  @Override
  public Document handleMessage(MongoMessage message) {
    Document command = message.getDocument();
    String name = command.keySet().iterator().next();
    Channel channel = message.getChannel();
    rememberAppName(channel, command);
    if (name.equals("configureFailPoint")) return configure(command);
    Fault applied = take(name, channel);
    if (applied == null) return delegate.handleMessage(message);
    if (applied.blockTimeMs() > 0) block(channel, applied.blockTimeMs());
    if (applied.closeConnection()) {
      channel.close();
      throw new MongoServerError(6, "HostUnreachable", "connection closed by fault injection");
    }
    if (applied.errorCode() != null) {
      throw new MongoServerError(applied.errorCode(), codeName(applied.errorCode()),
          "Failing command " + name + " via 'failCommand' failpoint");
    }
    Document reply = delegate.handleMessage(message);
    if (applied.writeConcernError() != null) reply.put("writeConcernError", applied.writeConcernError());
    return reply;
  }

  @Override
  public Document handleCommand(Channel channel, String database, String command, Document query) {
    rememberAppName(channel, query);
    return delegate.handleCommand(channel, database, command, query);
  }

  /** MongoDB's names for the codes tests inject (the driver goes by the number). */
  private static String codeName(int code) {
    return switch (code) {
      case 50 -> "MaxTimeMSExpired";
      case 85 -> "IndexOptionsConflict";
      case 86 -> "IndexKeySpecsConflict";
      case 91 -> "ShutdownInProgress";
      case 11600 -> "InterruptedAtShutdown";
      default -> "FailPointErrorCode";
    };
  }

  private void rememberAppName(Channel channel, Document command) {
    if (command.get("client") instanceof Document client
        && client.get("application") instanceof Document application
        && application.get("name") instanceof String appName) {
      appNames.put(channel, appName);
    }
  }

  /** The fault to apply to this command, counted; null when none applies. */
  private synchronized Fault take(String command, Channel channel) {
    if (fault == null || !fault.commands().contains(command)) return null;
    if (fault.appName() != null && !fault.appName().equals(appNames.get(channel))) return null;
    Fault applied = fault;
    if (applied.remaining() == 1) fault = null;
    else if (applied.remaining() > 1) fault = new Fault(applied.commands(), applied.appName(), applied.errorCode(),
        applied.writeConcernError(), applied.blockTimeMs(), applied.closeConnection(), applied.remaining() - 1);
    return applied;
  }

  private synchronized Document configure(Document command) {
    if (!"failCommand".equals(command.get("configureFailPoint"))) {
      throw new MongoServerError(2, "BadValue", "only the failCommand fail point is supported");
    }
    Object mode = command.get("mode");
    int remaining;
    if ("off".equals(mode)) {
      fault = null;
      return new Document("ok", 1.0);
    } else if ("alwaysOn".equals(mode)) {
      remaining = -1;
    } else if (mode instanceof Document times && times.get("times") instanceof Number n && n.intValue() > 0) {
      remaining = n.intValue();
    } else {
      throw new MongoServerError(2, "BadValue", "mode must be 'off', 'alwaysOn' or {times: N > 0}");
    }
    if (!(command.get("data") instanceof Document data) || !(data.get("failCommands") instanceof List<?> names)) {
      throw new MongoServerError(2, "BadValue", "data.failCommands must list command names");
    }
    Set<String> commands = Set.copyOf(names.stream().map(String::valueOf).toList());
    Integer errorCode = data.get("errorCode") instanceof Number code ? code.intValue() : null;
    Document writeConcernError = data.get("writeConcernError") instanceof Document wce ? wce : null;
    long blockTimeMs = Boolean.TRUE.equals(data.get("blockConnection")) && data.get("blockTimeMS") instanceof Number ms
        ? ms.longValue() : 0;
    boolean closeConnection = Boolean.TRUE.equals(data.get("closeConnection"));
    String appName = data.get("appName") instanceof String app ? app : null;
    fault = new Fault(commands, appName, errorCode, writeConcernError, blockTimeMs, closeConnection, remaining);
    return new Document("ok", 1.0);
  }

  /** Holds the reply back for `ms`, or until the client closes the connection (it gave up). */
  private static void block(Channel channel, long ms) {
    long end = System.nanoTime() + ms * 1_000_000;
    try {
      while (System.nanoTime() < end && channel.isOpen()) Thread.sleep(Math.min(20, ms));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void handleClose(Channel channel) {
    appNames.remove(channel);
    delegate.handleClose(channel);
  }

  @Override
  public QueryResult handleQuery(MongoQuery query) {
    return delegate.handleQuery(query);
  }

  @Override
  public void dropDatabase(String database) {
    delegate.dropDatabase(database);
  }

  @Override
  public Collection<Document> getCurrentOperations(MongoQuery query) {
    return delegate.getCurrentOperations(query);
  }

  @Override
  public Document getServerStatus() {
    return delegate.getServerStatus();
  }

  @Override
  public void close() {
    delegate.close();
  }

  @Override
  public void closeCursors(List<Long> cursorIds) {
    delegate.closeCursors(cursorIds);
  }

  @Override
  public Clock getClock() {
    return delegate.getClock();
  }

  @Override
  public void enableOplog() {
    delegate.enableOplog();
  }

  @Override
  public void disableOplog() {
    delegate.disableOplog();
  }

  @Override
  public MongoDatabase resolveDatabase(String database) {
    return delegate.resolveDatabase(database);
  }

  @Override
  public MongoBackend version(MongoVersion version) {
    delegate.version(version);
    return this;
  }
}
