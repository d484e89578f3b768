// Every DatabaseMetaData call DBeaver, DataGrip and Metabase make through pgjdbc when they browse a
// table: prints "method|cell|cell…" per row (or "method!error") so the test can compare the answers
// with PostgreSQL's for the same table. Arguments: JDBC URL, user, password, schema, table.
import java.sql.*;

public class JdbcMetadata {
    interface Call { ResultSet run(DatabaseMetaData m) throws SQLException; }

    static void print(String name, DatabaseMetaData m, Call call) {
        try (ResultSet rs = call.run(m)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                StringBuilder line = new StringBuilder(name);
                for (int i = 1; i <= columns; i++) line.append('|').append(rs.getString(i));
                System.out.println(line);
            }
        } catch (SQLException e) {
            System.out.println(name + "!" + e.getSQLState() + " " + e.getMessage().split("\n")[0]);
        }
    }

    public static void main(String[] args) throws Exception {
        try (Connection con = DriverManager.getConnection(args[0], args[1], args[2])) {
            DatabaseMetaData m = con.getMetaData();
            String s = args[3], t = args[4];
            print("getSchemas", m, d -> d.getSchemas(null, s));
            print("getTables", m, d -> d.getTables(null, s, t, new String[] {"TABLE"}));
            print("getColumns", m, d -> d.getColumns(null, s, t, "%"));
            print("getPrimaryKeys", m, d -> d.getPrimaryKeys(null, s, t));
            print("getImportedKeys", m, d -> d.getImportedKeys(null, s, t));
            print("getExportedKeys", m, d -> d.getExportedKeys(null, s, t));
            print("getCrossReference", m, d -> d.getCrossReference(null, s, t, null, s, t));
            print("getIndexInfo", m, d -> d.getIndexInfo(null, s, t, false, true));
            print("getBestRowIdentifier", m, d -> d.getBestRowIdentifier(null, s, t, DatabaseMetaData.bestRowSession, true));
            print("getVersionColumns", m, d -> d.getVersionColumns(null, s, t));
            print("getTypeInfo", m, d -> d.getTypeInfo());
            print("getTablePrivileges", m, d -> d.getTablePrivileges(null, s, t));
            print("getClientInfoProperties", m, d -> d.getClientInfoProperties());
            print("getFunctions", m, d -> d.getFunctions(null, s, "%"));
            print("getProcedures", m, d -> d.getProcedures(null, s, "%"));
            print("getUDTs", m, d -> d.getUDTs(null, s, "%", null));
            // What a query's ResultSetMetaData says of the same columns (it must agree with getColumns).
            try (Statement st = con.createStatement();
                 ResultSet rs = st.executeQuery("select * from " + s + "." + t + " limit 0")) {
                ResultSetMetaData r = rs.getMetaData();
                for (int i = 1; i <= r.getColumnCount(); i++) {
                    System.out.println("getMetaData|" + r.getColumnName(i) + "|" + r.getColumnType(i) + "|"
                        + r.getColumnTypeName(i) + "|" + r.getPrecision(i) + "|" + r.getScale(i));
                }
            }
            System.out.println("getMaxColumnsInIndex|" + m.getMaxColumnsInIndex());
            System.out.println("getUserName|" + m.getUserName());
        }
    }
}
