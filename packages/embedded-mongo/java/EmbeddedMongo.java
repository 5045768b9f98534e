import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.AbstractMongoDatabase;
import de.bwaldvogel.mongo.backend.AbstractUniqueIndex;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DocumentWithPosition;
import de.bwaldvogel.mongo.backend.EmptyIndex;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.QueryParameters;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.oplog.Oplog;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.exception.IndexBuildFailedException;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import de.bwaldvogel.mongo.wire.message.MongoQuery;
import io.netty.channel.Channel;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * Runs mongo-java-server as a local MongoDB wire-protocol server for development and tests.
 *
 * Usage: java -cp 'jars/*' EmbeddedMongo.java [--port N] [--backend memory|h2] [--h2-file PATH]
 *                                            [--h2-cache-mb N] [--exit-on-stdin-eof]
 *                                            [--enable-fault-injection] [--no-secondary-indexes]
 *
 * --enable-fault-injection (tests only, never by default) accepts MongoDB's own test command
 * {configureFailPoint: 'failCommand', ...} on the admin database, so a test can make this real
 * server process answer with an error code, a writeConcernError, a late reply or no reply at all,
 * through the real driver and wire protocol (see FaultInjectingBackend below).
 *
 * Non-unique indexes are served by SortedSecondaryIndex (below); --no-secondary-indexes gives back
 * the library's own behaviour (it ignores them and scans), to measure the difference.
 *
 * Prints one line "EMBEDDED_MONGO_URL=mongodb://127.0.0.1:PORT" once it listens, so a parent
 * process can read the address. With --exit-on-stdin-eof it stops when its parent goes away.
 */
public class EmbeddedMongo {
  public static void main(String[] args) throws Exception {
    int port = 0;
    String backendName = "memory";
    String h2File = null;
    int h2CacheMb = 256;
    boolean exitOnStdinEof = false;
    boolean faultInjection = false;
    boolean secondaryIndexes = true;
    int networkThreads = 0;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--backend" -> backendName = args[++i];
        case "--h2-file" -> h2File = args[++i];
        case "--h2-cache-mb" -> h2CacheMb = Integer.parseInt(args[++i]);
        case "--exit-on-stdin-eof" -> exitOnStdinEof = true;
        case "--enable-fault-injection" -> faultInjection = true;
        case "--no-secondary-indexes" -> secondaryIndexes = false;
        case "--network-threads" -> networkThreads = Integer.parseInt(args[++i]);
        case "--fair-collection-lock" -> FairCollectionLock.enabled = true;
        default -> {
          System.err.println("EmbeddedMongo: unknown argument " + args[i]);
          System.exit(2);
        }
      }
    }

    MongoBackend backend;
    switch (backendName) {
      case "memory" -> backend = secondaryIndexes ? new IndexedMemoryBackend() : new MemoryBackend();
      case "h2" -> backend = secondaryIndexes ? new IndexedH2Backend(openMvStore(h2File, h2CacheMb))
          : new H2Backend(openMvStore(h2File, h2CacheMb));
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
    // Replies are computed on the network threads, each running its connections' commands in
    // turn (0: netty's 2 per core). With fault injection, at least 32, so that a reply held back on
    // purpose rarely holds up another connection (such as the one clearing it).
    try {
      server.bind(new InetSocketAddress("127.0.0.1", port), 1,
          faultInjection ? Math.max(32, networkThreads) : networkThreads);
    } catch (Exception e) { // netty rethrows the checked BindException undeclared
      // Netty's threads are already running and would keep the JVM alive without a listener: the
      // parent would wait out its start timeout instead of learning at once that the port is taken.
      System.err.println("EmbeddedMongo: cannot listen on 127.0.0.1:" + port + ": " + e);
      System.exit(3);
    }
    InetSocketAddress address = server.getLocalAddress();
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));

    System.out.println("EMBEDDED_MONGO_URL=mongodb://127.0.0.1:" + address.getPort());
    System.out.println("embedded MongoDB stand-in (mongo-java-server 1.47.0, " + backendName
        + " backend" + (secondaryIndexes ? "" : ", secondary indexes OFF")
        + (faultInjection ? ", fault injection ON" : "") + ") listening on mongodb://127.0.0.1:" + address.getPort());
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

  /**
   * H2's own MVStore.open(file) keeps a 16 MB page cache: past ~100,000 records every collection
   * scan re-reads and re-parses pages from the file (measured: a claim poll 40x slower at 200,000).
   * A larger cache keeps the working set parsed in the heap. In memory (no file) it changes nothing.
   */
  private static MVStore openMvStore(String file, int cacheMb) {
    MVStore.Builder builder = new MVStore.Builder().cacheSize(cacheMb);
    if (file != null) builder.fileName(file);
    return builder.open();
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

// ---------------------------------------------------------------------------------------------
// Secondary indexes. mongo-java-server 1.47.0 answers every non-unique index with an EmptyIndex
// ("not yet implemented"), so every query that is not an exact match of a unique index scans the
// whole collection under the collection lock, and costs more the more history is stored. The
// backends below give it a sorted in-memory index instead (real MongoDB already serves the same
// queries from the same indexes). The library re-checks every candidate with its full query
// matcher, so an index may return too many positions (slower) but never too few (lost records).
// ---------------------------------------------------------------------------------------------

/** The memory backend, with SortedSecondaryIndex behind every non-unique index. */
class IndexedMemoryBackend extends MemoryBackend {
  @Override
  public MemoryDatabase openOrCreateDatabase(String databaseName) {
    return new IndexedMemoryDatabase(databaseName, getCursorRegistry());
  }
}

class IndexedMemoryDatabase extends MemoryDatabase {
  IndexedMemoryDatabase(String databaseName, CursorRegistry cursorRegistry) {
    super(databaseName, cursorRegistry);
  }

  @Override
  protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
    return new IndexedMemoryCollection(this, collectionName, options, cursorRegistry);
  }

  @Override
  protected Index<Integer> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                   boolean sparse) {
    return new InMemoryUniqueIndex<>(indexName, keys, sparse);
  }

  // Called from the super constructor: must not use fields of this class.
  @Override
  protected Index<Integer> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                      boolean sparse) {
    return SortedSecondaryIndex.createOrEmpty(indexName, keys, sparse);
  }
}

class IndexedMemoryCollection extends MemoryCollection {
  private final FairCollectionLock fair = new FairCollectionLock();

  @Override
  public void addDocument(Document document) {
    fair.run(() -> super.addDocument(document));
  }

  @Override
  public void addDocuments(Stream<Document> documents) {
    fair.run(() -> super.addDocuments(documents));
  }

  @Override
  public Document findAndModify(Document query) {
    return fair.call(() -> super.findAndModify(query));
  }

  @Override
  public QueryResult handleQuery(QueryParameters parameters) {
    return fair.call(() -> super.handleQuery(parameters));
  }

  @Override
  public Document handleDistinct(Document query) {
    return fair.call(() -> super.handleDistinct(query));
  }

  @Override
  public List<Document> insertDocuments(List<Document> documents, boolean isOrdered) {
    return fair.call(() -> super.insertDocuments(documents, isOrdered));
  }

  @Override
  public int deleteDocuments(Document selector, int limit, Oplog oplog) {
    return fair.call(() -> super.deleteDocuments(selector, limit, oplog));
  }

  @Override
  public Document updateDocuments(Document selector, Document update, ArrayFilters arrayFilters, boolean isMulti,
                                  boolean isUpsert, Oplog oplog) {
    return fair.call(() -> super.updateDocuments(selector, update, arrayFilters, isMulti, isUpsert, oplog));
  }

  @Override
  public void removeDocument(Document document) {
    fair.run(() -> super.removeDocument(document));
  }

  @Override
  public void renameTo(MongoDatabase newDatabase, String newCollectionName) {
    fair.run(() -> super.renameTo(newDatabase, newCollectionName));
  }

  IndexedMemoryCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                          CursorRegistry cursorRegistry) {
    super(database, collectionName, options, cursorRegistry);
  }

  @Override
  protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize,
                                       Document fieldSelector) {
    Iterable<Integer> positions = IndexPlanner.candidates(getIndexes(), query, orderBy, numberToSkip, limit, count(),
        this::getDocument, this::documentMatchesQuery);
    if (positions == null) return matchDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
    return matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
  }

  @Override
  public void addIndex(Index<Integer> index) {
    OnePassIndexFill.fill(getIndexes(), this, index, streamAllDocumentsWithPosition());
    super.addIndex(index);
  }
}

/**
 * With --fair-collection-lock (the launcher's default): the library serialises each collection's
 * operations on the collection's monitor, which is not fair: under contention a thread can be
 * passed over again and again (an API insert behind the workers' updates). This lock, taken before
 * the monitor by every operation the library synchronises, serves them in arrival order; the
 * monitor is then uncontended. Without the flag it does nothing.
 */
final class FairCollectionLock {
  static volatile boolean enabled;
  private final ReentrantLock lock = new ReentrantLock(true);

  <T> T call(Supplier<T> work) {
    if (!enabled) return work.get();
    lock.lock();
    try {
      return work.get();
    } finally {
      lock.unlock();
    }
  }

  void run(Runnable work) {
    call(() -> {
      work.run();
      return null;
    });
  }
}

final class KeyFields {
  private KeyFields() {}

  /**
   * True when an update leaves every field of the index's key as it was (same raw values, absent
   * ones included), so its keys are the same: the index has nothing to check or move. Only for
   * top-level keys (a dotted key is not a field of the document); false means "compare keys".
   */
  static boolean unchanged(Index<?> index, Document oldDocument, Document newDocument) {
    for (IndexKey indexKey : index.getKeys()) {
      String key = indexKey.getKey();
      if (key.indexOf('.') >= 0) return false;
      if (!Objects.equals(oldDocument.getOrMissing(key), newDocument.getOrMissing(key))) return false;
    }
    return true;
  }
}

/** The H2 backend, with SortedSecondaryIndex behind every non-unique index (rebuilt at start-up). */
class IndexedH2Backend extends H2Backend {
  IndexedH2Backend(MVStore mvStore) {
    super(mvStore);
  }

  // Also called from H2Backend's constructor for the databases already in the file; getMvStore()
  // is set by then.
  @Override
  protected MongoDatabase openOrCreateDatabase(String databaseName) {
    return new IndexedH2Database(databaseName, getMvStore(), getCursorRegistry());
  }
}

class IndexedH2Database extends H2Database {
  /** False while the super constructor opens the file's collections and indexes (and fields are unset). */
  private boolean opened;

  IndexedH2Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
    super(databaseName, mvStore, cursorRegistry);
    // The file's indexes were registered empty while opening; each collection fills all of its
    // own in one read of its documents, instead of one read per index.
    Map<String, MongoCollection<Object>> collections =
        PrivateField.read(this, AbstractMongoDatabase.class, "collections");
    for (MongoCollection<Object> collection : collections.values()) {
      if (collection instanceof IndexedH2Collection indexed) indexed.fillDeferredIndexes();
    }
    opened = true;
  }

  boolean isOpening() {
    return !opened;
  }

  /** H2Database opens the collection's maps; we take the same maps into our subclass. */
  @Override
  protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
    H2Collection plain = (H2Collection) super.openOrCreateCollection(collectionName, options);
    return new IndexedH2Collection(this, collectionName, options, PrivateField.read(plain, "dataMap"),
        PrivateField.read(plain, "metaMap"), cursorRegistry);
  }

  @Override
  protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                     boolean sparse) {
    return SortedSecondaryIndex.createOrEmpty(indexName, keys, sparse);
  }

  /**
   * The library keeps a unique index in an MVMap whose key comparisons serialise both keys (half
   * of the database's CPU under load); we keep it in memory, filled from the documents when the
   * collection registers it (OnePassIndexFill; at start-up together with the collection's other
   * indexes, IndexedH2Collection.fillDeferredIndexes). The file's own map would no longer follow the
   * writes: it is removed, so that a later start with the plain H2Backend (--no-secondary-indexes)
   * finds it empty and rebuilds it from the documents instead of trusting an outdated one (a
   * duplicate webhook stored twice). The removal is written with the store's next commit, before
   * any later write of this run (MVStore commits are versions of the whole store, in order).
   * Called from the super constructor: must not use fields of this class.
   */
  @Override
  protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                  boolean sparse) {
    MVStore mvStore = PrivateField.read(this, H2Database.class, "mvStore");
    mvStore.removeMap(getFullCollectionNamespace(collectionName) + "._index_" + indexName); // no-op when absent
    return new InMemoryUniqueIndex<>(indexName, keys, sparse);
  }
}

class IndexedH2Collection extends H2Collection {
  private final FairCollectionLock fair = new FairCollectionLock();

  @Override
  public void addDocument(Document document) {
    fair.run(() -> super.addDocument(document));
  }

  @Override
  public void addDocuments(Stream<Document> documents) {
    fair.run(() -> super.addDocuments(documents));
  }

  @Override
  public Document findAndModify(Document query) {
    return fair.call(() -> super.findAndModify(query));
  }

  @Override
  public QueryResult handleQuery(QueryParameters parameters) {
    return fair.call(() -> super.handleQuery(parameters));
  }

  @Override
  public Document handleDistinct(Document query) {
    return fair.call(() -> super.handleDistinct(query));
  }

  @Override
  public List<Document> insertDocuments(List<Document> documents, boolean isOrdered) {
    return fair.call(() -> super.insertDocuments(documents, isOrdered));
  }

  @Override
  public int deleteDocuments(Document selector, int limit, Oplog oplog) {
    return fair.call(() -> super.deleteDocuments(selector, limit, oplog));
  }

  @Override
  public Document updateDocuments(Document selector, Document update, ArrayFilters arrayFilters, boolean isMulti,
                                  boolean isUpsert, Oplog oplog) {
    return fair.call(() -> super.updateDocuments(selector, update, arrayFilters, isMulti, isUpsert, oplog));
  }

  @Override
  public void removeDocument(Document document) {
    fair.run(() -> super.removeDocument(document));
  }

  @Override
  public void renameTo(MongoDatabase newDatabase, String newCollectionName) {
    fair.run(() -> super.renameTo(newDatabase, newCollectionName));
  }

  IndexedH2Collection(MongoDatabase database, String collectionName, CollectionOptions options,
                      MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
    super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
  }

  @Override
  protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize,
                                       Document fieldSelector) {
    Iterable<Object> positions = IndexPlanner.candidates(getIndexes(), query, orderBy, numberToSkip, limit, count(),
        this::getDocument, this::documentMatchesQuery);
    if (positions == null) return matchDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
    return matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
  }

  /** Indexes registered empty while the database opened, until fillDeferredIndexes. */
  private final List<Index<Object>> deferred = new ArrayList<>();

  @Override
  public void addIndex(Index<Object> index) {
    boolean opening = getDatabase() instanceof IndexedH2Database database && database.isOpening();
    if (opening && OnePassIndexFill.fillable(getIndexes(), index)) {
      getIndexes().add(index); // what the library's addIndex does once an index is filled
      deferred.add(index);
      return;
    }
    OnePassIndexFill.fill(getIndexes(), this, index, streamAllDocumentsWithPosition());
    super.addIndex(index);
  }

  /** Nothing reads the indexes before: the server listens only once every database is open. */
  void fillDeferredIndexes() {
    OnePassIndexFill.fillAll(this, deferred, streamAllDocumentsWithPosition());
    deferred.clear();
  }
}

final class PrivateField {
  private PrivateField() {}

  static <T> T read(Object target, String name) {
    return read(target, target.getClass(), name);
  }

  /** A field declared by `owner`, a class of `target` or one of its superclasses. */
  @SuppressWarnings("unchecked")
  static <T> T read(Object target, Class<?> owner, String name) {
    try {
      Field field = owner.getDeclaredField(name);
      field.setAccessible(true);
      return (T) field.get(target);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("mongo-java-server changed: no field " + name + " in " + owner, e);
    }
  }
}

/**
 * A unique index in a hash map in memory, for both backends (the library's MemoryUniqueIndex,
 * generic in the position so it also holds H2's: a document's _id, Missing for a null one, as
 * H2UniqueIndex stores them; the memory backend's positions are never null). The library's
 * AbstractUniqueIndex does the checks and keeps add/remove under its lock; this class adds that
 * an update leaving the index's fields alone costs nothing.
 */
final class InMemoryUniqueIndex<P> extends AbstractUniqueIndex<P> {
  private final Map<KeyValue, Object> positions = new ConcurrentHashMap<>();

  InMemoryUniqueIndex(String name, List<IndexKey> keys, boolean sparse) {
    super(name, keys, sparse);
  }

  @Override
  @SuppressWarnings("unchecked")
  protected P removeDocument(KeyValue keyValue) {
    return (P) positions.remove(keyValue);
  }

  @Override
  protected boolean putKeyPosition(KeyValue keyValue, P position) {
    return positions.putIfAbsent(keyValue, Missing.ofNullable(position)) == null;
  }

  @Override
  @SuppressWarnings("unchecked")
  protected P getPosition(KeyValue keyValue) {
    return (P) positions.get(keyValue);
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  protected Iterable<Map.Entry<KeyValue, P>> getIterable() {
    return (Iterable) positions.entrySet();
  }

  @Override
  public long getCount() {
    return positions.size();
  }

  @Override
  public boolean isEmpty() {
    return positions.isEmpty();
  }

  @Override
  public long getDataSize() {
    return getCount(); // as the library's unique indexes report it
  }

  @Override
  public void drop() {
    positions.clear();
  }

  // An update that leaves the index's fields alone (a lease renewal, a call count) costs nothing.
  @Override
  public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<P> collection) {
    if (KeyFields.unchanged(this, oldDocument, newDocument)) return;
    super.checkUpdate(oldDocument, newDocument, collection);
  }

  @Override
  public void updateInPlace(Document oldDocument, Document newDocument, P position,
                            MongoCollection<P> collection) {
    if (KeyFields.unchanged(this, oldDocument, newDocument)) return;
    super.updateInPlace(oldDocument, newDocument, position, collection);
  }
}

/**
 * Fills new, empty in-memory indexes from the stored documents in one pass. The library's
 * addIndex reads every document twice per index (a uniqueness check, then the adds); on H2 each
 * read deserialises the document from the file, and this runs for every index at start-up (where
 * IndexedH2Collection fills all of a collection's indexes in the same pass). Once filled, addIndex
 * only registers an index. A unique index's add checks first, so a duplicate in the stored
 * documents still fails the build, with the library's IndexBuildFailedException (a partly filled
 * new index is dropped, never registered; at start-up the server does not start, as before).
 */
final class OnePassIndexFill {
  private OnePassIndexFill() {}

  static <P> void fill(List<Index<P>> existing, MongoCollection<P> collection, Index<P> index,
                       Stream<DocumentWithPosition<P>> documents) {
    if (!fillable(existing, index)) return;
    try {
      fillAll(collection, List.of(index), documents);
    } catch (IndexBuildFailedException e) {
      index.drop();
      throw e;
    }
  }

  /** One of our empty in-memory indexes, new to the collection (addIndex keeps an existing one of that name). */
  static <P> boolean fillable(List<Index<P>> existing, Index<P> index) {
    boolean ours = index instanceof SortedSecondaryIndex || index instanceof InMemoryUniqueIndex;
    return ours && index.isEmpty() && existing.stream().noneMatch(other -> other.getName().equals(index.getName()));
  }

  /** Adds every document to each of `indexes`, reading the documents once. */
  static <P> void fillAll(MongoCollection<P> collection, List<Index<P>> indexes,
                          Stream<DocumentWithPosition<P>> documents) {
    if (indexes.isEmpty()) return;
    try {
      documents.forEach(document -> {
        for (Index<P> index : indexes) index.add(document.getDocument(), document.getPosition(), collection);
      });
    } catch (MongoServerError e) {
      throw new IndexBuildFailedException(e, collection);
    }
  }
}

/**
 * Chooses the index that answers a query. The library takes the first index that can handle a
 * query, in creation order; with secondary indexes that can be a broad one (`status` alone) ahead
 * of an exact unique one (the lease fence), so: a unique index that handles the query exactly
 * first, else the secondary index with the fewest candidates, else a scan. A secondary index is
 * not used when its candidates are a large share of the collection: fetching them one by one
 * (a B-tree lookup each on H2) costs more than reading the collection in order. A query with a
 * sort and a limit may instead walk an index in the sort's order (SortedSecondaryIndex.Walk) and
 * stop once the page is certain, rather than match and sort every record.
 */
final class IndexPlanner {
  /** Candidates are counted up to this many, or a quarter of the collection if more. */
  static final int ESTIMATE_CAP = 4096;
  /** An index narrowing the collection to this share or more is no better than a scan. */
  static final double MAX_SHARE = 0.25;

  private IndexPlanner() {}

  /**
   * Candidate positions (a superset of the matches), or null for a collection scan.
   * `documentCount` is the collection's size (cheap: a counter on both backends).
   */
  static <P> Iterable<P> candidates(List<Index<P>> indexes, Document query, Document orderBy, int skip, int limit,
                                    int documentCount, Function<P, Document> fetch,
                                    BiPredicate<Document, Document> matches) {
    // $natural order is the scan's order: keep it a scan, as before.
    if (orderBy != null && orderBy.containsKey("$natural")) return null;
    for (Index<P> index : indexes) {
      if (index.isUnique() && index.canHandle(query)) return index.getPositions(query);
    }
    long tooMany = Math.max(ESTIMATE_CAP, (long) Math.ceil(documentCount * MAX_SHARE));
    SortedSecondaryIndex<P>.Plan best = null;
    long bestEstimate = tooMany;
    for (Index<P> index : indexes) {
      if (!(index instanceof SortedSecondaryIndex<P> sorted)) continue;
      SortedSecondaryIndex<P>.Plan plan = sorted.plan(query);
      if (plan == null) continue;
      long estimate = plan.estimate(tooMany);
      if (estimate < bestEstimate) {
        best = plan;
        bestEstimate = estimate;
      }
    }
    // A sorted, limited query walks an index in the sort's order and stops once the page is
    // certain; unless another index narrows it down to a few candidates (cheap to sort whole) that
    // are fewer than the walk could have to pass over.
    if (limit > 0 && orderBy != null && !orderBy.isEmpty()) {
      SortedSecondaryIndex<P>.Walk walk = longestWalk(indexes, query, orderBy);
      if (walk != null && (best == null || bestEstimate > ESTIMATE_CAP
          || walk.estimate(bestEstimate + 1) <= bestEstimate)) {
        List<P> walked = walk.candidates(query, (long) skip + limit, fetch, matches);
        if (walked != null) return walked;
      }
    }
    return best == null ? null : best.positions();
  }

  /** The index walk that fixes the most leading keys by equality (the fewest records to pass over). */
  private static <P> SortedSecondaryIndex<P>.Walk longestWalk(List<Index<P>> indexes, Document query,
                                                              Document orderBy) {
    SortedSecondaryIndex<P>.Walk longest = null;
    for (Index<P> index : indexes) {
      if (!(index instanceof SortedSecondaryIndex<P> sorted)) continue;
      SortedSecondaryIndex<P>.Walk walk = sorted.walk(query, orderBy);
      if (walk != null && (longest == null || walk.fixedKeys() > longest.fixedKeys())) longest = walk;
    }
    return longest;
  }
}

/**
 * A non-unique index kept sorted in memory: one entry per document, ordered by the index key
 * values in the library's own BSON order (ValueComparator), ties broken by insertion sequence;
 * plus the document's _id → its entry, so remove(document) finds its position.
 *
 * It serves a query that constrains the index's leading keys by equality (a value, $eq or $in)
 * followed by at most one range ($gt/$gte/$lt/$lte) on the next key, or any query that names
 * _id by equality or $in. Everything else (regex, $ne, $exists, $or alone, sub-documents,
 * arrays...) is left to a scan. Documents it cannot place in the order (an array or an
 * unusual type in a key, dotted keys are not used at all) are "unkeyed": returned as candidates
 * of every query, so they are never missed.
 */
final class SortedSecondaryIndex<P> extends Index<P> {
  /** Sentinels below and above every value, to bound a range of keys. */
  private static final Object LOWEST = new Object();
  private static final Object HIGHEST = new Object();

  private record Entry(Object[] key, long sequence) {}

  /** Where a document is: its position and its entry (null when unkeyed). */
  private record Tracked<P>(P position, Entry entry) {}

  private final TreeMap<Entry, P> entries = new TreeMap<>(SortedSecondaryIndex::compareEntries);
  private final TreeMap<Object, Tracked<P>> byId = new TreeMap<>(SortedSecondaryIndex::compareValues);
  private final Set<P> unkeyed = new HashSet<>();
  private long nextSequence;

  private SortedSecondaryIndex(String name, List<IndexKey> keys, boolean sparse) {
    super(name, keys, sparse);
  }

  /** Dotted (nested) keys keep the library's EmptyIndex: their array semantics are not handled here. */
  static <P> Index<P> createOrEmpty(String name, List<IndexKey> keys, boolean sparse) {
    if (keys.stream().anyMatch(key -> key.getKey().contains("."))) return new EmptyIndex<>(name, keys);
    return new SortedSecondaryIndex<>(name, keys, sparse);
  }

  // ---- maintenance, called by the collection under its lock -------------------------------

  @Override
  public P getPosition(Document document) {
    return null; // not unique: the _id index locates documents
  }

  @Override
  public void checkAdd(Document document, MongoCollection<P> collection) {
    // not unique: nothing to refuse
  }

  @Override
  public synchronized void add(Document document, P position, MongoCollection<P> collection) {
    if (skippedAsSparse(document)) return;
    Object id = document.get("_id");
    Tracked<P> previous = byId.remove(id);
    if (previous != null) forget(previous);
    Object[] key = scalarKey(document);
    Entry entry = null;
    if (key == null) {
      unkeyed.add(position);
    } else {
      entry = new Entry(key, nextSequence++);
      entries.put(entry, position);
    }
    byId.put(id, new Tracked<>(position, entry));
  }

  @Override
  public synchronized P remove(Document document) {
    if (skippedAsSparse(document)) return null;
    Tracked<P> tracked = byId.remove(document.get("_id"));
    if (tracked == null) return null;
    forget(tracked);
    return tracked.position();
  }

  private void forget(Tracked<P> tracked) {
    if (tracked.entry() == null) unkeyed.remove(tracked.position());
    else entries.remove(tracked.entry());
  }

  @Override
  public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<P> collection) {
    // not unique: nothing to refuse
  }

  @Override
  public synchronized void updateInPlace(Document oldDocument, Document newDocument, P position,
                                         MongoCollection<P> collection) {
    // Most updates leave this index's fields alone (a lease renewal moves due_at, not created_at):
    // equal raw values give equal keys, so there is nothing to move. Unequal raw values may still
    // normalise to one key (1 and 1.0): the full comparison below decides those.
    if (KeyFields.unchanged(this, oldDocument, newDocument)) return;
    Tracked<P> tracked = byId.get(oldDocument.get("_id"));
    Object[] newKey = skippedAsSparse(newDocument) ? null : scalarKey(newDocument);
    boolean unchanged = tracked != null && tracked.entry() != null && newKey != null
        && compareKeys(tracked.entry().key(), newKey) == 0;
    if (unchanged) return;
    remove(oldDocument);
    add(newDocument, position, collection);
  }

  private boolean skippedAsSparse(Document document) {
    return isSparse() && keys().stream().noneMatch(document::containsKey);
  }

  /**
   * The key values in index order, or null when the document cannot be placed in the order.
   * Scalar fields are read directly (the keys are top-level: dotted ones get EmptyIndex) and
   * normalised as the library does: its getKeyValues splits each key path with a regex and builds
   * streams, 40 % of the database's CPU under the worker's updates. Arrays take the library's path.
   */
  private Object[] scalarKey(Document document) {
    List<String> names = keys();
    Object[] key = new Object[names.size()];
    for (int i = 0; i < key.length; i++) {
      Object raw = document.getOrMissing(names.get(i));
      if (raw instanceof Collection<?>) return scalarKeyOfLibrary(document);
      Object value = normalizedScalar(raw);
      if (!isOrderable(value)) return null;
      key[i] = value;
    }
    return key;
  }

  /** Utils.normalizeValue (package-private there) for a value that is not an array. */
  private static Object normalizedScalar(Object value) {
    if (Missing.isNullOrMissing(value)) return null;
    if (value instanceof Long number && number != (long) number.doubleValue()) return number;
    if (value instanceof Number number) {
      double normalised = number.doubleValue();
      return normalised == -0.0 ? 0.0 : normalised; // -0.0 and 0.0 are one key
    }
    return value; // a sub-document normalises to a Document: not orderable either way
  }

  private Object[] scalarKeyOfLibrary(Document document) {
    Set<KeyValue> keyValues;
    try {
      keyValues = getKeyValues(document); // the library's normalisation (numbers, missing → null)
    } catch (RuntimeException e) {
      return null; // e.g. parallel arrays: candidate of every query instead
    }
    // An array in a key gives 0 (empty) or several key values: unkeyed, see the class comment.
    if (keyValues.size() != 1) return null;
    Object[] key = keyValues.iterator().next().stream().toArray();
    for (Object value : key) {
      if (!isOrderable(value)) return null;
    }
    return key;
  }

  /** Types whose order the index relies on; ValueComparator may refuse to compare others. */
  private static boolean isOrderable(Object value) {
    return value == null || value instanceof Integer || value instanceof Long || value instanceof Double
        || value instanceof String || value instanceof Instant || value instanceof ObjectId
        || value instanceof Boolean || value instanceof UUID;
  }

  @Override
  public synchronized long getCount() {
    return entries.size() + unkeyed.size();
  }

  @Override
  public long getDataSize() {
    return 0; // not tracked
  }

  @Override
  public synchronized void drop() {
    entries.clear();
    byId.clear();
    unkeyed.clear();
  }

  // ---- queries ------------------------------------------------------------------------------

  @Override
  public boolean canHandle(Document query) {
    return plan(query) != null;
  }

  @Override
  public Iterable<P> getPositions(Document query) {
    Plan plan = plan(query);
    if (plan == null) throw new UnsupportedOperationException("index " + getName() + " cannot serve " + query);
    return plan.positions();
  }

  /** How this index would answer `query`, or null when it cannot narrow it down. */
  Plan plan(Document query) {
    // Named by _id: the documents with those ids (a sparse index does not hold them all).
    if (!isSparse() && query.containsKey("_id")) {
      List<Object> ids = equalityValues(query.get("_id"));
      if (ids != null) return new Plan(ids, null);
    }
    List<String> keys = keys();
    List<List<Object>> prefix = new ArrayList<>();
    Object[] range = null;
    for (String key : keys) {
      if (!query.containsKey(key)) break;
      Object condition = query.get(key);
      List<Object> values = equalityValues(condition);
      if (values != null) {
        prefix.add(values);
        if (combinations(prefix) > ESTIMATE_LIMIT_OF_RANGES) {
          prefix.remove(prefix.size() - 1);
          break;
        }
        continue;
      }
      range = rangeBounds(condition);
      break;
    }
    if (prefix.isEmpty() && range == null) return null;
    return new Plan(null, boundsOf(prefix, range, keys.size()));
  }

  /** More equality combinations than this ($in × $in) and the index uses a shorter prefix. */
  private static final int ESTIMATE_LIMIT_OF_RANGES = 1000;

  private static long combinations(List<List<Object>> prefix) {
    long product = 1;
    for (List<Object> values : prefix) product *= Math.max(1, values.size());
    return product;
  }

  /**
   * The values a condition requires by equality (a plain value, $eq or $in), or null. A value
   * must be orderable; null ("null or missing") only when the index holds missing values too.
   */
  private List<Object> equalityValues(Object condition) {
    if (condition instanceof Document operators) {
      if (!isOperatorDocument(operators)) return null; // equality with a sub-document
      if (operators.containsKey("$eq")) {
        Object value = operators.get("$eq");
        return isEqualityValue(value) ? java.util.Collections.singletonList(value) : null;
      }
      if (operators.get("$in") instanceof Collection<?> values && !values.isEmpty()) {
        List<Object> result = new ArrayList<>();
        for (Object value : values) {
          if (!isEqualityValue(value)) return null;
          result.add(value);
        }
        return result;
      }
      return null;
    }
    return isEqualityValue(condition) ? java.util.Collections.singletonList(condition) : null;
  }

  private boolean isEqualityValue(Object value) {
    if (value == null) return !isSparse();
    return isOrderable(value);
  }

  private static boolean isOperatorDocument(Document document) {
    return !document.isEmpty() && document.keySet().stream().allMatch(key -> key.startsWith("$"));
  }

  /**
   * {low, high} from $gt/$gte/$lt/$lte (each bound inclusive: a superset), or null. The library
   * compares only values of the same type (numbers together), so a one-sided range is closed at
   * its type's end where there is one: `$lte: date` skips the nulls and numbers ordered before dates.
   */
  private static Object[] rangeBounds(Object condition) {
    if (!(condition instanceof Document operators) || !isOperatorDocument(operators)) return null;
    Object low = LOWEST;
    Object high = HIGHEST;
    for (String operator : List.of("$gt", "$gte")) {
      if (operators.containsKey(operator)) {
        Object value = operators.get(operator);
        if (value == null || !isOrderable(value)) return null;
        low = low == LOWEST || ValueComparator.asc().compare(value, low) > 0 ? value : low;
      }
    }
    for (String operator : List.of("$lt", "$lte")) {
      if (operators.containsKey(operator)) {
        Object value = operators.get(operator);
        if (value == null || !isOrderable(value)) return null;
        high = high == HIGHEST || ValueComparator.asc().compare(value, high) < 0 ? value : high;
      }
    }
    if (low == LOWEST && high == HIGHEST) return null;
    if (low == LOWEST) low = lowestOfType(high);
    if (high == HIGHEST) high = highestOfType(low);
    return new Object[] {low, high};
  }

  private static Object lowestOfType(Object value) {
    if (value instanceof Instant) return Instant.MIN;
    if (value instanceof Number) return Double.NEGATIVE_INFINITY;
    if (value instanceof String) return "";
    if (value instanceof Boolean) return Boolean.FALSE;
    return LOWEST;
  }

  private static Object highestOfType(Object value) {
    if (value instanceof Instant) return Instant.MAX;
    if (value instanceof Boolean) return Boolean.TRUE;
    return HIGHEST; // numbers (NaN sorts last), strings: no last value of the type
  }

  /** One {low key, high key} pair per combination of the equality prefix. */
  private static List<Object[][]> boundsOf(List<List<Object>> prefix, Object[] range, int keyCount) {
    List<List<Object>> combinations = new ArrayList<>();
    combinations.add(new ArrayList<>());
    for (List<Object> values : prefix) {
      List<List<Object>> next = new ArrayList<>();
      for (List<Object> combination : combinations) {
        for (Object value : values) {
          List<Object> longer = new ArrayList<>(combination);
          longer.add(value);
          next.add(longer);
        }
      }
      combinations = next;
    }
    List<Object[][]> bounds = new ArrayList<>();
    for (List<Object> combination : combinations) {
      Object[] low = new Object[keyCount];
      Object[] high = new Object[keyCount];
      int i = 0;
      for (Object value : combination) {
        low[i] = value;
        high[i] = value;
        i++;
      }
      if (range != null) {
        low[i] = range[0];
        high[i] = range[1];
        i++;
      }
      for (; i < keyCount; i++) {
        low[i] = LOWEST;
        high[i] = HIGHEST;
      }
      bounds.add(new Object[][] {low, high});
    }
    return bounds;
  }

  /** A way to answer one query: by _id, or by key ranges; always plus the unkeyed documents. */
  final class Plan {
    private final List<Object> ids;
    private final List<Object[][]> ranges;

    private Plan(List<Object> ids, List<Object[][]> ranges) {
      this.ids = ids;
      this.ranges = ranges;
    }

    /** How many candidates, counted up to `cap`. */
    long estimate(long cap) {
      synchronized (SortedSecondaryIndex.this) {
        if (ids != null) return ids.size();
        long count = unkeyed.size();
        for (Object[][] range : ranges) {
          for (P ignored : slice(range).values()) {
            if (++count >= cap) return count;
          }
        }
        return count;
      }
    }

    /** A snapshot of the candidates, in position order (the order a scan would see them). */
    List<P> positions() {
      synchronized (SortedSecondaryIndex.this) {
        List<P> result = new ArrayList<>();
        if (ids != null) {
          for (Object id : ids) {
            Tracked<P> tracked = byId.get(id);
            if (tracked != null) result.add(tracked.position());
          }
          // several equal ids ($in: [1, 1.0]) name one document once
          return sortedDistinct(result);
        }
        result.addAll(unkeyed);
        for (Object[][] range : ranges) result.addAll(slice(range).values());
        return sortedDistinct(result);
      }
    }
  }

  // ---- sorted walks ---------------------------------------------------------------------------

  /**
   * How this index could serve `orderBy` in its own order, or null. The index's leading keys fixed
   * by one equality value each are constant in the walk; the sort's first key must be the next
   * index key. The sort's following keys that continue the index keys in the same direction
   * define "ties" together with it; any further sort keys are settled by the library's sort. The
   * entries are kept ascending whatever the index's declared directions, so a sort walks them
   * forwards or backwards. Not when the index cannot place every document (unkeyed) or is sparse
   * (it does not hold every document).
   */
  Walk walk(Document query, Document orderBy) {
    if (isSparse()) return null;
    synchronized (this) {
      if (!unkeyed.isEmpty()) return null;
    }
    List<String> keys = keys();
    List<Object> fixed = new ArrayList<>();
    while (fixed.size() < keys.size() && query.containsKey(keys.get(fixed.size()))) {
      List<Object> values = equalityValues(query.get(keys.get(fixed.size())));
      if (values == null || values.size() != 1) break;
      fixed.add(values.get(0));
    }
    int first = fixed.size();
    List<String> sortKeys = new ArrayList<>(orderBy.keySet());
    for (String sortKey : sortKeys) {
      if (!(orderBy.get(sortKey) instanceof Number)) return null; // e.g. {$meta: ...}
    }
    if (first >= keys.size() || !sortKeys.get(0).equals(keys.get(first))) return null;
    boolean descending = ((Number) orderBy.get(sortKeys.get(0))).doubleValue() < 0;
    int grouped = 1;
    while (grouped < sortKeys.size() && first + grouped < keys.size()
        && sortKeys.get(grouped).equals(keys.get(first + grouped))
        && (((Number) orderBy.get(sortKeys.get(grouped))).doubleValue() < 0) == descending) {
      grouped++;
    }
    return new Walk(fixed, boundsOn(query, keys.get(first)), grouped, descending);
  }

  /**
   * Inclusive {low, high} that every match's `key` lies in (a superset), from the query's own
   * condition on it or from an $or whose every branch bounds it (the list's cursor form
   * `$or: [{created_at: {$lt: X}}, {created_at: X, _id: {$lt: id}}]`); null when unbounded.
   */
  private Object[] boundsOn(Document query, String key) {
    if (query.containsKey(key)) {
      Object[] bounds = boundsOf(query.get(key));
      if (bounds != null) return bounds;
    }
    if (!(query.get("$or") instanceof List<?> branches) || branches.isEmpty()) return null;
    Object[] hull = null;
    for (Object branch : branches) {
      if (!(branch instanceof Document document) || !document.containsKey(key)) return null;
      Object[] bounds = boundsOf(document.get(key));
      if (bounds == null) return null;
      if (hull == null) hull = bounds.clone();
      if (compareValues(bounds[0], hull[0]) < 0) hull[0] = bounds[0];
      if (compareValues(bounds[1], hull[1]) > 0) hull[1] = bounds[1];
    }
    return hull;
  }

  private Object[] boundsOf(Object condition) {
    List<Object> values = equalityValues(condition);
    if (values == null) return rangeBounds(condition);
    Object low = values.get(0);
    Object high = low;
    for (Object value : values) {
      if (compareValues(value, low) < 0) low = value;
      if (compareValues(value, high) > 0) high = value;
    }
    return new Object[] {low, high};
  }

  /** A walk over this index in a sort's order. */
  final class Walk {
    /** Entries read under the index lock at a time; documents are fetched and matched outside it. */
    private static final int CHUNK = 256;

    private final List<Object> fixed;
    private final Object[] bounds;
    private final int grouped;
    private final boolean descending;

    private Walk(List<Object> fixed, Object[] bounds, int grouped, boolean descending) {
      this.fixed = fixed;
      this.bounds = bounds;
      this.grouped = grouped;
      this.descending = descending;
    }

    int fixedKeys() {
      return fixed.size();
    }

    /**
     * The positions of the first `wanted` matches in walk order, plus every further match that
     * ties with the last of them on the walked sort keys (the library orders ties by position),
     * in position order; null when the index cannot place every document (then: the library's
     * path). Every record after them in the walk sorts strictly after all of them, so the
     * library's sort, skip and limit over these candidates give exactly its answer over all.
     */
    List<P> candidates(Document query, long wanted, Function<P, Document> fetch,
                       BiPredicate<Document, Document> matches) {
      int first = fixed.size();
      Object[][] range = range();
      List<P> found = new ArrayList<>();
      Object[] lastMatch = null;
      Entry resumeAfter = null;
      while (true) {
        List<Map.Entry<Entry, P>> chunk = new ArrayList<>(CHUNK);
        synchronized (SortedSecondaryIndex.this) {
          if (!unkeyed.isEmpty()) return null;
          NavigableMap<Entry, P> slice = slice(range);
          if (descending) slice = slice.descendingMap();
          if (resumeAfter != null) slice = slice.tailMap(resumeAfter, false);
          for (Map.Entry<Entry, P> entry : slice.entrySet()) {
            chunk.add(Map.entry(entry.getKey(), entry.getValue()));
            if (chunk.size() == CHUNK) break;
          }
        }
        for (Map.Entry<Entry, P> entry : chunk) {
          Object[] key = entry.getKey().key();
          if (found.size() >= wanted && !tiesOnWalkedKeys(key, lastMatch, first)) return sortedDistinct(found);
          Document document = fetch.apply(entry.getValue());
          if (document == null || !matches.test(document, query)) continue;
          found.add(entry.getValue());
          lastMatch = key;
        }
        if (chunk.size() < CHUNK) return sortedDistinct(found);
        resumeAfter = chunk.get(chunk.size() - 1).getKey();
      }
    }

    /** How many entries the walk could pass over, counted up to `cap`. */
    long estimate(long cap) {
      synchronized (SortedSecondaryIndex.this) {
        long count = 0;
        for (P ignored : slice(range()).values()) {
          if (++count >= cap) return count;
        }
        return count;
      }
    }

    /** {low key, high key}: the fixed values, then the bounds on the first sort key, if any. */
    private Object[][] range() {
      int first = fixed.size();
      int keyCount = keys().size();
      Object[] low = new Object[keyCount];
      Object[] high = new Object[keyCount];
      for (int i = 0; i < keyCount; i++) {
        low[i] = i < first ? fixed.get(i) : LOWEST;
        high[i] = i < first ? fixed.get(i) : HIGHEST;
      }
      if (bounds != null) {
        low[first] = bounds[0];
        high[first] = bounds[1];
      }
      return new Object[][] {low, high};
    }

    private boolean tiesOnWalkedKeys(Object[] a, Object[] b, int first) {
      for (int i = first; i < first + grouped; i++) {
        if (compareValues(a[i], b[i]) != 0) return false;
      }
      return true;
    }
  }

  private NavigableMap<Entry, P> slice(Object[][] range) {
    Entry low = new Entry(range[0], Long.MIN_VALUE);
    Entry high = new Entry(range[1], Long.MAX_VALUE);
    if (compareEntries(low, high) > 0) return java.util.Collections.emptyNavigableMap();
    return entries.subMap(low, true, high, true);
  }

  private static <P> List<P> sortedDistinct(List<P> positions) {
    positions.sort(ValueComparator.asc());
    List<P> distinct = new ArrayList<>(positions.size());
    for (P position : positions) {
      if (distinct.isEmpty() || !distinct.get(distinct.size() - 1).equals(position)) distinct.add(position);
    }
    return distinct;
  }

  private static int compareEntries(Entry a, Entry b) {
    int byKey = compareKeys(a.key(), b.key());
    return byKey != 0 ? byKey : Long.compare(a.sequence(), b.sequence());
  }

  private static int compareKeys(Object[] a, Object[] b) {
    for (int i = 0; i < a.length; i++) {
      int cmp = compareValues(a[i], b[i]);
      if (cmp != 0) return cmp;
    }
    return 0;
  }

  /**
   * The library's BSON order (ValueComparator), with two values of the same common class compared
   * directly: the library first finds each value's type rank by trying its type classes one by one,
   * which was half of the database's CPU time per insert in the mixed-load profile (every insert
   * places a key in each index and its _id in each byId). Same class, same answer as the library:
   * String.compareTo, Instant.compareTo, ObjectId.compareTo, and a numeric compare for Long and
   * Integer. Doubles (NaN, -0.0), mixed classes and everything else go to the library.
   */
  static int compareValues(Object a, Object b) {
    if (a == b) return 0;
    if (a == LOWEST || b == HIGHEST) return -1;
    if (a == HIGHEST || b == LOWEST) return 1;
    if (a != null && b != null && a.getClass() == b.getClass()) {
      if (a instanceof String text) return text.compareTo((String) b);
      if (a instanceof Instant instant) return instant.compareTo((Instant) b);
      if (a instanceof ObjectId objectId) return objectId.compareTo((ObjectId) b);
      if (a instanceof Long number) return Long.compare(number, (Long) b);
      if (a instanceof Integer number) return Integer.compare(number, (Integer) b);
    }
    return ValueComparator.asc().compare(a, b);
  }
}
