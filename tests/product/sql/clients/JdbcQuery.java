// Connects with a JDBC URL, user and password as given, runs one query and prints its rows
// (columns joined by ","), then "rows <n>": what a JDBC tool does with a connection snippet.
import java.sql.*;

public class JdbcQuery {
    public static void main(String[] args) throws Exception {
        try (Connection con = DriverManager.getConnection(args[0], args[1], args[2]);
             Statement st = con.createStatement();
             ResultSet rs = st.executeQuery(args[3])) {
            int columns = rs.getMetaData().getColumnCount();
            int rows = 0;
            while (rs.next()) {
                StringBuilder line = new StringBuilder();
                for (int i = 1; i <= columns; i++) line.append(i > 1 ? "," : "").append(rs.getString(i));
                System.out.println(line);
                rows++;
            }
            System.out.println("rows " + rows);
        }
    }
}
