import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import org.h2.mvstore.MVStore;
import java.io.InputStream;
import java.net.InetSocketAddress;

/**
 * Runs mongo-java-server as a local MongoDB wire-protocol server for development and tests.
 *
 * Usage: java -cp 'jars/*' EmbeddedMongo.java [--port N] [--backend memory|h2] [--h2-file PATH]
 *                                            [--h2-cache-mb N] [--exit-on-stdin-eof]
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
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--backend" -> backendName = args[++i];
        case "--h2-file" -> h2File = args[++i];
        case "--h2-cache-mb" -> h2CacheMb = Integer.parseInt(args[++i]);
        case "--exit-on-stdin-eof" -> exitOnStdinEof = true;
        default -> {
          System.err.println("EmbeddedMongo: unknown argument " + args[i]);
          System.exit(2);
        }
      }
    }

    MongoBackend backend;
    switch (backendName) {
      case "memory" -> backend = new MemoryBackend();
      case "h2" -> backend = new H2Backend(openMvStore(h2File, h2CacheMb));
      default -> {
        System.err.println("EmbeddedMongo: --backend must be memory or h2");
        System.exit(2);
        return;
      }
    }
    // The Node.js driver 7 needs a modern wire version; 5.0 is the newest this server speaks.
    backend.version(ServerVersion.MONGO_5_0);

    MongoServer server = new MongoServer(backend);
    server.bind("127.0.0.1", port);
    InetSocketAddress address = server.getLocalAddress();
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));

    System.out.println("EMBEDDED_MONGO_URL=mongodb://127.0.0.1:" + address.getPort());
    System.out.println("embedded MongoDB stand-in (mongo-java-server 1.47.0, " + backendName
        + " backend) listening on mongodb://127.0.0.1:" + address.getPort());
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
