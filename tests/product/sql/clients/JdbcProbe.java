// What DBeaver and Metabase do through pgjdbc on connect and when browsing: catalog metadata,
// then a prepared query with a parameter. Prints one line per finding for the Python test.
import java.sql.*;

public class JdbcProbe {
    public static void main(String[] args) throws Exception {
        try (Connection con = DriverManager.getConnection(args[0], "analyst", "")) {
            DatabaseMetaData meta = con.getMetaData();
            System.out.println("product " + meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion());
            try (ResultSet rs = meta.getSchemas()) {
                while (rs.next()) System.out.println("schema " + rs.getString("TABLE_SCHEM"));
            }
            try (ResultSet rs = meta.getTables(null, "sales", "%", new String[] {"TABLE"})) {
                while (rs.next()) System.out.println("table " + rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
            }
            try (ResultSet rs = meta.getColumns(null, "sales", "orders__orders", "%")) {
                while (rs.next()) System.out.println("column " + rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME"));
            }
            try (PreparedStatement st = con.prepareStatement(
                    "select customer, amount from sales.orders__orders where order_id = ?")) {
                st.setLong(1, 3L);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) System.out.println("row " + rs.getString(1) + " " + rs.getDouble(2));
                }
            }
        }
    }
}
